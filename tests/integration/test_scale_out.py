"""catalog-ml on a Spark cluster with the lake and the dumps on S3, against the same run in
local mode.

Real components on loopback, stopped by PID: an S3 server (moto) with a lake and a landing
bucket, a Spark standalone master with two workers from the pyspark wheel. Through the CLI, as
a team runs it: a labelled night loaded from a laptop (local master, the same S3 lake), then on
the cluster ``train``, an unlabelled night with broken rows and a rerun; then two nights at
once, one on the cluster and one from the laptop, so Spark's commits race the driver's. No
Hadoop S3 jars exist here: Spark's tasks read and write the lake through pyarrow.

Every cluster night costs a Spark application (executor JVMs, a model load per Python worker):
about 85 s here, so the module runs as few of them as its checks need.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from catalog_ml.lake import ALL_TABLES, Lake
from catalog_ml.lake.query import run_query
from tests.conftest import fashion_rows, write_fashion_dump
from tests.servers import running, start_s3, start_spark_cluster, upload_folder

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
CLI = str(Path(sys.executable).with_name("catalog-ml"))
LABELLED, UNLABELLED, RACE_A, RACE_B = "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stderr[-4000:]}"
    return done


def broken_rows(folder: Path) -> int:
    """Append rows a shop's export can hold by mistake: each must land in quarantine."""
    frame = pd.read_parquet(folder / "products.parquet")
    bad = pd.DataFrame([
        {"product_id": "bad-1", "title": None, "image": None},
        {"product_id": "bad-2", "title": "Escaping photo", "image": "../../etc/passwd.jpg"},
        {"product_id": frame["product_id"].iloc[0], "title": "Same id twice", "image": None},
    ])
    pd.concat([frame, bad], ignore_index=True).to_parquet(folder / "products.parquet",
                                                          index=False)
    return len(frame) + len(bad)


def base_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_ML_", "AIRFLOW"))}
    env.update({"CATALOG_ML_CV_FOLDS": "2", "CATALOG_ML_TRAIN_EPOCHS": "25",
                "CATALOG_ML_SPARK_DRIVER_MEMORY": "2g", "SPARK_LOCAL_IP": "127.0.0.1",
                **{f"CATALOG_ML_{k.upper()}": v for k, v in settings.items()}})
    return env


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    rows = fashion_rows()
    common = rows["category"].value_counts().index[:5]
    rows = rows[rows["category"].isin(common)].groupby("category").head(30)
    rows = rows.sample(frac=1.0, random_state=11)
    landing = base / "landing"
    write_fashion_dump(landing / LABELLED, rows.iloc[:110], labelled=True)
    write_fashion_dump(landing / UNLABELLED, rows.iloc[110:150], labelled=False)
    received = broken_rows(landing / UNLABELLED)
    race = rows.iloc[100:130]  # both race nights hold the same products: one embedding each
    write_fashion_dump(landing / RACE_A, race, labelled=False)
    write_fashion_dump(landing / RACE_B, race, labelled=False)
    with running(base / "servers") as servers:
        options = start_s3(servers, ("lake", "landing"))
        for night in (LABELLED, UNLABELLED, RACE_A, RACE_B):
            upload_folder(landing / night, f"s3://landing/{night}", options)
        master = start_spark_cluster(servers, workers=2, cores=1, memory="2g")
        spark_conf = {"spark.driver.host": "127.0.0.1", "spark.ui.enabled": "false",
                      "spark.executor.memory": "1g", "spark.cores.max": "2",
                      "spark.sql.shuffle.partitions": "4"}
        on_s3 = {"lake": "s3://lake/catalog", "storage_options": json.dumps(options),
                 "dump_template": "s3://landing/{date}"}
        cluster = base_env(**on_s3, spark_master=master, spark_conf=json.dumps(spark_conf))
        laptop = base_env(**on_s3, spark_master="local[2]")  # the same lake, no cluster
        local = base_env(lake=str(base / "local-lake"),
                         dump_template=str(landing / "{date}"), spark_master="local[2]")
        for first, env, dump in ((laptop, cluster, "s3://landing/{}"),
                                 (local, local, str(landing / "{}"))):
            cli(first, "nightly", "--dump", dump.format(LABELLED), "--date", LABELLED)
            cli(env, "train")
            cli(env, "nightly", "--dump", dump.format(UNLABELLED), "--date", UNLABELLED)
        yield {"cluster": cluster, "laptop": laptop, "local": local, "options": options,
               "base": base,
               "received": received, "servers": servers,
               "s3_lake": Lake("s3://lake/catalog", options),
               "local_lake": Lake(str(base / "local-lake"))}


def classified(lake: Lake, night: str) -> dict[str, tuple[str, float]]:
    rows = run_query(lake, f"SELECT product_id, category, confidence FROM classifications "
                           f"WHERE run_date = DATE '{night}'").to_pylist()
    return {r["product_id"]: (r["category"], r["confidence"]) for r in rows}


def test_the_cluster_embeds_as_local_mode_does(world):
    import numpy as np

    def vectors(lake: Lake) -> dict[str, np.ndarray]:
        rows = lake.read("embeddings", columns=["product_id", "text_vector",
                                                "image_vector"]).to_pylist()
        return {r["product_id"]: np.asarray(r["text_vector"] + (r["image_vector"] or []))
                for r in rows}

    def per_night(lake: Lake) -> Counter:
        return Counter(lake.read("embeddings", columns=["dump_date"]).column("dump_date")
                       .to_pylist())

    by_night = per_night(world["s3_lake"])  # the unlabelled night's were embedded on Spark
    assert by_night == per_night(world["local_lake"])
    assert by_night.get(dt.date.fromisoformat(UNLABELLED), 0) > 30, by_night
    on_s3, local = vectors(world["s3_lake"]), vectors(world["local_lake"])
    assert set(on_s3) == set(local)
    worst = max(float(np.abs(on_s3[p] - local[p]).max()) for p in local)
    assert worst < 1e-5, f"vectors differ by up to {worst:.2e}"


def test_a_cluster_night_on_s3_classifies_as_local_mode_does(world):
    on_s3, local = classified(world["s3_lake"], UNLABELLED), classified(world["local_lake"],
                                                                       UNLABELLED)
    assert on_s3 and set(on_s3) == set(local)
    for product, (category, confidence) in local.items():
        assert on_s3[product][0] == category, product
        assert on_s3[product][1] == pytest.approx(confidence, abs=1e-4), product
    # Spark's files carry statistics that skip no file a filter on a non-key column needs
    split = run_query(world["s3_lake"], f"SELECT count(*) FILTER (WHERE needs_review) AS r, "
                                        f"count(*) FILTER (WHERE NOT needs_review) AS a FROM "
                                        f"classifications WHERE run_date = DATE '{UNLABELLED}'")
    pushed = [run_query(world["s3_lake"], f"SELECT count(*) AS n FROM classifications WHERE "
                                          f"run_date = DATE '{UNLABELLED}' AND {condition}"
                        ).to_pylist()[0]["n"] for condition in ("needs_review",
                                                                "NOT needs_review",
                                                                "decided_by = 'model'")]
    assert pushed[:2] == list(split.to_pylist()[0].values())
    assert sum(pushed[:2]) == pushed[2] == len(on_s3)


def test_nothing_is_lost_on_s3_every_row_is_classified_or_quarantined(world):
    lake = world["s3_lake"]
    quarantined = run_query(lake, f"SELECT product_id, reasons FROM quarantine "
                                  f"WHERE dump_date = DATE '{UNLABELLED}'").to_pylist()
    assert len(classified(lake, UNLABELLED)) + len(quarantined) == world["received"]
    reasons = " ".join(" ".join(r["reasons"]) for r in quarantined)
    assert "title" in reasons and "image" in reasons and "product_id" in reasons


def test_every_table_reads_back_with_deltalake_duckdb_and_spark(world):
    from catalog_ml.config import load_settings
    from catalog_ml.lake.spark import get_spark
    from catalog_ml.lake.spark_bridge import read_table

    lake, options = world["s3_lake"], world["options"]
    settings = load_settings(lake=lake.root, storage_options=options, spark_master="local[2]",
                             spark_driver_memory="2g")
    spark = get_spark(settings)
    for name in ALL_TABLES:
        table = DeltaTable(f"s3://lake/catalog/{name}", storage_options=lake.storage_options)
        rows = lake.dataset(table).to_table().num_rows
        counted = run_query(lake, f"SELECT count(*) AS n FROM {name}").to_pylist()[0]["n"]
        assert counted == rows, name
        assert read_table(spark, Lake.from_settings(settings), name).count() == rows, name
    assert lake.read("embeddings").num_rows > 0 and lake.read("models").num_rows == 1


def test_a_rerun_on_the_cluster_changes_no_table(world):
    lake, env = world["s3_lake"], world["cluster"]

    def snapshot() -> dict[str, Any]:
        out: dict[str, Any] = {name: lake.read(name).num_rows for name in ALL_TABLES
                               if name not in ("night_runs",)}
        out["classes"] = sorted(classified(lake, UNLABELLED).items())
        return out

    before = snapshot()
    cli(env, "nightly", "--dump", f"s3://landing/{UNLABELLED}", "--date", UNLABELLED)
    assert snapshot() == before


def test_two_nights_at_once_on_s3_both_commit_and_nothing_doubles(world):
    runs = [subprocess.Popen([CLI, "nightly", "--dump", f"s3://landing/{night}", "--date",
                              night], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for night, env in ((RACE_A, world["cluster"]), (RACE_B, world["laptop"]))]
    outcomes = [(run.wait(timeout=900), run.stderr.read()) for run in runs]
    for code, err in outcomes:
        assert code in (0, 75), err[-3000:]
        if code == 75:
            assert "retry" in err.lower()
    lake = world["s3_lake"]
    embeddings = lake.read("embeddings", columns=["product_id", "content_hash",
                                                  "encoder_version"]).to_pylist()
    keys = [tuple(r.values()) for r in embeddings]
    assert len(keys) == len(set(keys)), "an embedding was written twice"
    for night, (code, _) in zip((RACE_A, RACE_B), outcomes, strict=True):
        if code == 0:
            snapshots = run_query(lake, f"SELECT count(*) n, count(DISTINCT product_id) d "
                                        f"FROM product_snapshots WHERE dump_date = "
                                        f"DATE '{night}'").to_pylist()[0]
            assert snapshots["n"] == snapshots["d"] == 30
            assert len(classified(lake, night)) == 30
    held = pa.Table.from_pylist(lake.read("products", columns=["product_id"]).to_pylist())
    assert held.num_rows == len(set(held.column("product_id").to_pylist()))
