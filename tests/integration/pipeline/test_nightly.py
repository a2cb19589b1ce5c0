"""catalog_ml.pipeline.nightly: a whole night on real data, through every step.

Real Myntra products and photos, real MiniLM and EfficientNet, Spark local[2], delta-rs. The
lakes come from the session fixtures of ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from catalog_ml.cli import main
from catalog_ml.lake import ALL_TABLES, Lake
from catalog_ml.lake.query import run_query
from catalog_ml.pipeline.nightly import run_night
from catalog_ml.validation.dump import DumpError
from tests.integration.conftest import N_LABELLED, N_NIGHT, NIGHT, broken_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]
GATE = dt.date(2026, 11, 4)


def counts(lake: Lake) -> dict[str, int]:
    return {name: lake.read(name).num_rows for name in ALL_TABLES if lake.exists(name)}


def test_labelled_night_without_a_model_stores_labels_and_skips_classification(labelled_lake):
    results = labelled_lake.outcome
    assert results["validate"].rejected == 0
    assert results["ingest"].labelled == N_LABELLED
    assert results["embed"].embedded == N_LABELLED
    assert "no champion" in results["classify"].skipped
    assert labelled_lake.lake.read("labels").num_rows == N_LABELLED


def test_every_row_of_the_night_is_classified_or_quarantined(classified_lake):
    world = classified_lake
    rows_in = N_NIGHT + len(broken_rows(world.base / "tonight"))
    lake = world.lake
    classified = lake.read("classifications", where={"run_date": NIGHT}).to_pandas()
    quarantined = lake.read("quarantine", where={"dump_date": NIGHT}).to_pandas()
    assert len(classified) + len(quarantined) == rows_in
    assert len(classified) == N_NIGHT and classified["product_id"].is_unique
    # full paths that exist in the taxonomy: a leaf, or a parent a rare leaf backed off to
    taxonomy = {" > ".join(path.split(" > ")[:level]) for path in world.labelled["category"]
                for level in (1, 2, 3)}
    assert set(classified["category"]) <= taxonomy
    truth = world.tonight.assign(product_id=world.tonight["id"].astype(str))
    merged = classified.merge(truth[["product_id", "category"]], on="product_id",
                              suffixes=("", "_true"))
    accuracy = (merged["category"] == merged["category_true"]).mean()
    assert accuracy > 0.6, accuracy  # chance is about 1 in 30 article types
    top_level = (merged["category"].str.split(" > ").str[0]
                 == merged["category_true"].str.split(" > ").str[0]).mean()
    assert top_level > 0.9
    first = classified.iloc[0]
    assert len(first["top_k"]) == 3 and first["top_k"][0]["category"] == first["category"]
    weights = first["modality_weights"]
    assert sum(weights.values()) == pytest.approx(1)


def test_rerunning_the_same_night_gives_the_same_tables(classified_lake, tmp_path):
    world = classified_lake.copy(tmp_path)
    lake = world.lake
    before = counts(lake)
    run_night(world.settings, NIGHT, world.dump("tonight"))
    assert counts(lake) == before
    duplicates = run_query(lake, f"""
        SELECT product_id, count(*) AS n FROM classifications
        WHERE run_date = DATE '{NIGHT}' GROUP BY product_id HAVING n > 1""")
    assert duplicates.num_rows == 0


def test_a_failed_gate_stops_the_night_and_leaves_every_table_as_it_was(classified_lake,
                                                                         tmp_path):
    world = classified_lake.copy(tmp_path)
    lake = world.lake
    versions = {name: lake.version(name) for name in ALL_TABLES}
    folder = tmp_path / "no-title"
    folder.mkdir()
    (folder / "products.csv").write_text("product_id,name\np1,Lamp\n")
    with pytest.raises(DumpError, match="'title'"):
        run_night(world.settings, GATE, str(folder))
    assert {name: lake.version(name) for name in ALL_TABLES} == versions
    assert main(["nightly", "--dump", str(folder), "--date", GATE.isoformat(),
                 "--lake", lake.root]) == 2
    assert {name: lake.version(name) for name in ALL_TABLES} == versions
