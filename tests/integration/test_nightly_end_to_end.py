"""The issue's acceptance path on real data: labelled night -> train -> unlabelled nights.

Real Myntra products and photos, real MiniLM and EfficientNet, Spark local[2], delta-rs.
Tests run in file order on one lake, as nights follow each other.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from catalog_ml.cli import main
from catalog_ml.config import load_settings
from catalog_ml.dump import DumpError
from catalog_ml.lake import ALL_TABLES, Lake
from catalog_ml.pipeline.nightly import run_night, run_step
from catalog_ml.pipeline.train import train_from_lake
from catalog_ml.query import run_query

from ..conftest import fashion_rows, write_fashion_dump

pytestmark = [pytest.mark.spark, pytest.mark.slow]
LABELLED, NIGHT, LATER, GATE = (dt.date(2026, 11, d) for d in (1, 2, 3, 4))
N_LABELLED, N_NIGHT = 700, 160


def broken_rows(folder: Path) -> pd.DataFrame:
    """Rows the contract rejects, appended to a real dump (with a corrupt and a missing photo)."""
    (folder / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    rows = [
        {"product_id": None, "title": "no id"},
        {"product_id": "dup-x", "title": "first copy"},
        {"product_id": "dup-x", "title": "second copy"},
        {"product_id": "bad-1", "title": ""},
        {"product_id": "bad-2", "title": "Shirt", "price": "-3", "currency": "INR"},
        {"product_id": "bad-3", "title": "Shirt", "price": "cheap", "currency": "INR"},
        {"product_id": "bad-4", "title": "Shirt", "price": "inf", "currency": "INR"},
        {"product_id": "bad-5", "title": "Shirt", "price": "499"},
        {"product_id": "bad-6", "title": "Shirt", "image": "../../etc/passwd"},
        {"product_id": "bad-7", "title": "Shirt", "image": "images/corrupt.jpg"},
        {"product_id": "bad-8", "title": "Shirt", "image": "images/gone.jpg"},
        {"product_id": "bad-9", "title": "T" * 100_000},
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    """Lake, settings and the real rows of each night."""
    base = tmp_path_factory.mktemp("e2e")
    settings = load_settings(lake=str(base / "lake"), dump_template=str(base / "landing/{date}"),
                             spark_master="local[2]", train_epochs=40, cv_folds=3)
    rows = fashion_rows().sample(frac=1.0, random_state=7)
    labelled = rows.iloc[:N_LABELLED]
    tonight = rows.iloc[N_LABELLED:N_LABELLED + N_NIGHT]
    write_fashion_dump(base / "labelled", labelled, labelled=True)
    folder = write_fashion_dump(base / "tonight", tonight, labelled=False, fmt="csv")
    dump = pd.read_csv(folder / "products.csv", dtype=str)
    pd.concat([dump, broken_rows(folder)]).to_csv(folder / "products.csv", index=False)
    return {"base": base, "settings": settings, "labelled": labelled, "tonight": tonight,
            "lake": Lake(settings.lake)}


def counts(lake: Lake) -> dict[str, int]:
    return {name: lake.read(name).num_rows for name in ALL_TABLES if lake.exists(name)}


def test_labelled_night_without_a_model_stores_labels_and_skips_classification(world):
    results = run_night(world["settings"], LABELLED, str(world["base"] / "labelled"))
    assert results["validate"].rejected == 0
    assert results["ingest"].labelled == N_LABELLED
    assert results["embed"].embedded == N_LABELLED
    assert "no champion" in results["classify"].skipped


def test_train_registers_an_evaluated_champion_that_learned(world):
    result = train_from_lake(world["settings"])
    assert result["status"] == "champion" and result["labelled"] == N_LABELLED
    cv = result["metrics"]["cross_validation"]
    assert cv["ensemble"]["level_1"]["accuracy"] > 0.9
    assert cv["ensemble"]["level_3"]["accuracy"] > 0.6
    holdout = result["metrics"]["holdout"]
    assert holdout["levels"]["level_3"]["accuracy"] > 0.6
    assert holdout["review"]["products"] == result["metrics"]["protocol"]["holdout"] > 50
    models = run_query(world["lake"], "SELECT version, status, artifact_path, artifact_sha256 "
                                      "FROM models")
    record = models.to_pylist()[0]
    assert record["status"] == "champion" and len(record["artifact_sha256"]) == 64
    assert record["artifact_path"] == f"artifacts/models/{record['version']}"  # lake-relative
    folder = Path(world["lake"].root) / record["artifact_path"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "evaluation.html", "evaluation.json", "model.json", "model.safetensors"]
    html = (folder / "evaluation.html").read_text()
    assert html.count("<svg") >= 2 and "http" not in html.replace(
        "http://www.w3.org/2000/svg", "")


def test_every_row_of_the_night_is_classified_or_quarantined(world):
    rows_in = N_NIGHT + len(broken_rows(world["base"] / "tonight"))
    results = run_night(world["settings"], NIGHT, str(world["base"] / "tonight"))
    report = Path(results["validate"].validation_report)
    assert report.exists() and report.with_name("gx_result.json").exists()
    lake = world["lake"]
    classified = lake.read("classifications", where={"run_date": NIGHT}).to_pandas()
    quarantined = lake.read("quarantine", where={"dump_date": NIGHT}).to_pandas()
    assert len(classified) + len(quarantined) == rows_in
    assert len(classified) == N_NIGHT and classified["product_id"].is_unique
    # full paths that exist in the taxonomy: a leaf, or a parent a rare leaf backed off to
    taxonomy = {" > ".join(path.split(" > ")[:level]) for path in world["labelled"]["category"]
                for level in (1, 2, 3)}
    assert set(classified["category"]) <= taxonomy
    truth = world["tonight"].assign(product_id=world["tonight"]["id"].astype(str))
    merged = classified.merge(truth[["product_id", "category"]], on="product_id",
                              suffixes=("", "_true"))
    accuracy = (merged["category"] == merged["category_true"]).mean()
    assert accuracy > 0.6, accuracy  # chance is below 0.02 with ~100 leaf categories
    top_level = (merged["category"].str.split(" > ").str[0]
                 == merged["category_true"].str.split(" > ").str[0]).mean()
    assert top_level > 0.9
    first = classified.iloc[0]
    assert len(first["top_k"]) == 3 and first["top_k"][0]["category"] == first["category"]
    weights = first["modality_weights"]
    assert weights["price"] == 0 and weights["text"] + weights["image"] == pytest.approx(1)


def test_each_broken_row_is_quarantined_with_a_reason_naming_its_field(world):
    quarantined = world["lake"].read("quarantine", where={"dump_date": NIGHT}).to_pandas()
    expected_fields = ["product_id", "product_id", "product_id", "title", "price", "price",
                       "price", "currency", "image", "image", "image", "title"]
    assert len(quarantined) == len(expected_fields)
    by_row = quarantined.sort_values("source_row")
    for reasons, field in zip(by_row["reasons"], expected_fields, strict=True):
        assert any(r.startswith(f"{field}:") for r in reasons), (field, reasons)
    assert all(r for r in by_row["raw_record"])


def test_rerunning_the_same_night_gives_the_same_tables(world):
    lake = world["lake"]
    before = counts(lake)
    run_night(world["settings"], NIGHT, str(world["base"] / "tonight"))
    assert counts(lake) == before
    duplicates = run_query(lake, f"""
        SELECT product_id, count(*) AS n FROM classifications
        WHERE run_date = DATE '{NIGHT}' GROUP BY product_id HAVING n > 1""")
    assert duplicates.num_rows == 0


def test_a_later_night_embeds_only_the_changed_tenth(world):
    source = world["base"] / "tonight"
    later = world["base"] / "later"
    shutil.copytree(source, later)
    dump = pd.read_csv(later / "products.csv", dtype=str)
    real = dump[dump["product_id"].isin(world["tonight"]["id"].astype(str))]
    changed = real.sample(n=N_NIGHT // 10, random_state=1).index
    dump.loc[changed, "title"] = dump.loc[changed, "title"] + " (new season)"
    dump.to_csv(later / "products.csv", index=False)
    settings = world["settings"]
    run_step("validate", settings, LATER, str(later))
    run_step("ingest", settings, LATER)
    embedded = run_step("embed", settings, LATER)
    assert embedded.embedded == len(changed)
    assert run_step("classify", settings, LATER).classified == N_NIGHT


def test_a_failed_gate_stops_the_night_and_leaves_every_table_as_it_was(world):
    lake = world["lake"]
    versions = {name: lake.version(name) for name in ALL_TABLES}
    folder = world["base"] / "no-title"
    folder.mkdir()
    (folder / "products.csv").write_text("product_id,name\np1,Lamp\n")
    with pytest.raises(DumpError, match="'title'"):
        run_night(world["settings"], GATE, str(folder))
    assert {name: lake.version(name) for name in ALL_TABLES} == versions
    assert main(["nightly", "--dump", str(folder), "--date", GATE.isoformat(),
                 "--lake", lake.root]) == 2


def test_cli_query_reads_the_tables(world, capsys):
    code = main(["query", f"SELECT count(*) AS n FROM classifications "
                 f"WHERE run_date = DATE '{NIGHT}'", "--lake", world["lake"].root,
                 "--format", "csv"])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines() == ["n", str(N_NIGHT)]


def test_a_copied_lake_classifies_with_its_own_model_and_refuses_a_tampered_one(world, tmp_path):
    """The registry holds lake-relative paths and a checksum: a restored copy works on its
    own, and an edited model.json is refused instead of relabelling the catalog."""
    import json

    from catalog_ml.errors import ArtifactError

    copy = tmp_path / "restored-lake"
    shutil.copytree(world["lake"].root, copy)
    settings = world["settings"].replace(lake=str(copy))
    assert run_step("classify", settings, NIGHT).classified == N_NIGHT
    version = Lake(str(copy)).read("models").column("version").to_pylist()[0]
    meta_file = copy / "artifacts" / "models" / version / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["classes"].reverse()
    meta_file.write_text(json.dumps(meta))
    before = Lake(str(copy)).version("classifications")
    with pytest.raises(ArtifactError, match="SHA-256"):
        run_step("classify", settings, NIGHT)
    assert Lake(str(copy)).version("classifications") == before
    assert main(["nightly", "--dump", str(world["base"] / "tonight"), "--date",
                 NIGHT.isoformat(), "--lake", str(copy)]) == 2
    # the original lake is untouched and still classifies
    assert run_step("classify", world["settings"], NIGHT).classified == N_NIGHT


@pytest.mark.airflow
def test_the_nightly_dag_runs_a_night_under_dag_test(world, monkeypatch, airflow_db):
    """catalog_nightly through Airflow's dag.test(), on a dump found via the date template."""
    settings = world["settings"]
    night = dt.date(2026, 11, 5)
    shutil.copytree(world["base"] / "tonight", settings.dump_dir(night.isoformat()))
    monkeypatch.setenv("CATALOG_ML_LAKE", settings.lake)
    monkeypatch.setenv("CATALOG_ML_DUMP_TEMPLATE", settings.dump_template)
    monkeypatch.setenv("CATALOG_ML_SPARK_MASTER", "local[2]")
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags")).dags["catalog_nightly"]
    run = dag.test(logical_date=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    assert run.state == "success"
    lake = world["lake"]
    assert lake.read("classifications", where={"run_date": night}).num_rows == N_NIGHT
    assert lake.read("quarantine", where={"dump_date": night}).num_rows == 12
