"""catalog_ml.pipeline.embed on Spark with real encoders: bad photos never stop a product."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from PIL import Image

from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.pipeline.embed import embed_products

pytestmark = pytest.mark.spark
COLUMNS = ["product_id", "content_hash", "title", "brand", "description", "image_uri"]


def test_unreadable_photos_leave_a_null_image_vector_and_keep_the_text(spark, settings, tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(good)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 broken")
    rows = [("a", "h1", "Green lamp", None, None, good.as_uri()),
            ("b", "h2", "Broken photo lamp", "Kivo", "desc", corrupt.as_uri()),
            ("c", "h3", "Photo gone", None, None, (tmp_path / "gone.jpg").as_uri()),
            ("d", "h4", "No photo at all", None, None, None)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    night = dt.date(2026, 11, 2)
    assert embed_products(frame, settings, night).embedded == 4
    stored = {r["product_id"]: r for r in Lake(settings.lake).read("embeddings").to_pylist()}
    assert stored["a"]["image_status"] == "ok" and len(stored["a"]["image_vector"]) == 1280
    for pid in ("b", "c"):
        assert stored[pid]["image_vector"] is None
        assert stored[pid]["image_status"].startswith("unreadable")
    assert stored["d"]["image_status"] == "none"
    assert all(len(r["text_vector"]) == 384 for r in stored.values())
    assert {r["encoder_version"] for r in stored.values()} == {
        EncoderSpec.from_settings(settings).version}
    assert embed_products(frame, settings, night).embedded == 0  # nothing new the 2nd time
    # the same products again with one new content: only that one is embedded
    again = pd.concat([frame, frame.iloc[:1].assign(content_hash="h1-new")])
    result = embed_products(again, settings, night)
    assert (result.embedded, result.candidates) == (1, 5)


def test_photos_over_the_limits_or_on_refused_hosts_get_no_vector_and_no_request(
        spark, settings, tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, optimize=True)
    rows = [("big", "h1", "Huge photo lamp", None, None, bomb.as_uri()),
            ("meta", "h2", "Metadata lamp", None, None, "http://169.254.169.254/latest/x.jpg"),
            ("loop", "h3", "Loopback lamp", None, None, "http://127.0.0.1:9/x.jpg")]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assert embed_products(frame, settings, dt.date(2026, 11, 2)).embedded == 3
    stored = {r["product_id"]: r for r in Lake(settings.lake).read("embeddings").to_pylist()}
    assert stored["big"]["image_status"].startswith("refused: declares 400,000,000 pixels")
    assert "link-local" in stored["meta"]["image_status"]
    assert "loopback" in stored["loop"]["image_status"]
    assert all(r["image_vector"] is None and len(r["text_vector"]) == 384
               for r in stored.values())


@pytest.mark.slow
def test_two_runs_of_the_same_night_at_once_embed_each_product_once(tmp_path):
    """The hostile case: two `catalog-ml nightly` processes on one lake and night."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from catalog_ml.lake.query import run_query
    from tests.conftest import fashion_rows, write_fashion_dump

    dump = write_fashion_dump(tmp_path / "dump", fashion_rows().iloc[:24], labelled=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=str(tmp_path / "lake"), CATALOG_ML_SPARK_MASTER="local[1]",
               CATALOG_ML_SPARK_DRIVER_MEMORY="1g")
    cli = str(Path(sys.executable).with_name("catalog-ml"))
    runs = [subprocess.Popen([cli, "nightly", "--dump", str(dump), "--date", "2026-11-02"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert any("is being written by" in err for _, err in outputs)  # one waited for the other
    lake = Lake(str(tmp_path / "lake"))
    doubled = run_query(lake, "SELECT product_id, content_hash, encoder_version, count(*) n "
                              "FROM embeddings GROUP BY ALL HAVING n > 1")
    assert doubled.num_rows == 0
    assert lake.read("embeddings").num_rows == 24
    assert lake.read("product_snapshots").num_rows + lake.read("quarantine").num_rows == 24


def test_our_error_raised_in_a_spark_worker_comes_back_as_itself(spark):
    """A worker's ArtifactError reaches the driver inside Spark's PythonException; the CLI
    turns it back into the one-line data problem it is."""
    from catalog_ml.errors import ArtifactError, translate

    def fail(_):
        from catalog_ml.errors import ArtifactError

        raise ArtifactError("/lake/artifacts/models/v1: the artifact's SHA-256 is wrong")

    with pytest.raises(Exception) as caught:
        spark.sparkContext.parallelize([1], 1).map(fail).collect()
    translated = translate(caught.value)
    assert isinstance(translated, ArtifactError)
    assert str(translated) == "/lake/artifacts/models/v1: the artifact's SHA-256 is wrong"
    assert translate(ZeroDivisionError("a bug")) is None


@pytest.mark.slow
def test_a_later_night_embeds_only_the_changed_tenth(classified_lake, tmp_path):
    import shutil

    import pandas as pd

    from catalog_ml.pipeline.nightly import run_step
    from tests.integration.conftest import N_NIGHT

    world = classified_lake.copy(tmp_path)
    later = tmp_path / "later"
    shutil.copytree(world.dump("tonight"), later)
    dump = pd.read_csv(later / "products.csv", dtype=str)
    real = dump[dump["product_id"].isin(world.tonight["id"].astype(str))]
    changed = real.sample(n=N_NIGHT // 10, random_state=1).index
    dump.loc[changed, "title"] = dump.loc[changed, "title"] + " (new season)"
    dump.to_csv(later / "products.csv", index=False)
    night = dt.date(2026, 11, 3)
    run_step("validate", world.settings, night, str(later))
    run_step("ingest", world.settings, night)
    assert run_step("embed", world.settings, night).embedded == len(changed)
    assert run_step("classify", world.settings, night).classified == N_NIGHT
