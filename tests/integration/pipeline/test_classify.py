"""catalog_ml.pipeline.classify: a lake classifies with its own verified model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from catalog_ml.cli import main
from catalog_ml.errors import ArtifactError
from catalog_ml.pipeline.nightly import run_step
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_a_copied_lake_classifies_with_its_own_model_and_refuses_a_tampered_one(
        classified_lake, tmp_path):
    """The registry holds lake-relative paths and a checksum: a restored copy works on its
    own, and an edited model.json is refused instead of relabelling the catalog."""
    world = classified_lake.copy(tmp_path)
    assert run_step("classify", world.settings, NIGHT).classified == N_NIGHT
    lake = world.lake
    version = lake.read("models").column("version").to_pylist()[0]
    meta_file = tmp_path / "lake" / "artifacts" / "models" / version / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["classes"].reverse()
    meta_file.write_text(json.dumps(meta))
    before = lake.version("classifications")
    with pytest.raises(ArtifactError, match="SHA-256"):
        run_step("classify", world.settings, NIGHT)
    assert lake.version("classifications") == before
    assert main(["nightly", "--dump", world.dump("tonight"), "--date",
                 NIGHT.isoformat(), "--lake", lake.root]) == 2
    # the lake it was copied from still holds its own, intact artifact
    original = Path(classified_lake.settings.lake) / "artifacts" / "models" / version
    assert json.loads((original / "model.json").read_text())["classes"] != meta["classes"]


@pytest.mark.parametrize("driver_max_products", [0, 10_000], ids=["spark", "driver"])
def test_unchanged_products_keep_the_models_answer_and_only_changed_ones_meet_the_model(
        classified_lake, tmp_path, driver_max_products):
    """The next night, with two titles changed: the model runs on those two; the rest keep
    last night's answer to the last digit. A new rule and tonight's review cut still hold for
    every row, and another top_k means a full run."""
    import dataclasses
    import datetime as dt

    import pandas as pd

    from catalog_ml.models.rules import add_rule

    world = classified_lake.copy(tmp_path)
    world = dataclasses.replace(world, settings=world.settings.replace(
        driver_max_products=driver_max_products))
    lake, next_night = world.lake, NIGHT + dt.timedelta(days=1)
    dump = tmp_path / "next"
    shutil.copytree(world.dump("tonight"), dump)
    frame = pd.read_csv(dump / "products.csv", dtype=str)
    valid = lake.read("classifications", where={"run_date": NIGHT}).to_pandas()
    changed = valid["product_id"].iloc[:2].tolist()
    rows = frame["product_id"].isin(changed)
    frame.loc[rows, "title"] = frame.loc[rows, "title"] + " (new season)"
    frame.to_csv(dump / "products.csv", index=False)
    for step in ("validate", "ingest", "embed"):
        run_step(step, world.settings, next_night, str(dump))
    result = run_step("classify", world.settings, next_night)
    assert (result.by_model, result.carried_over) == (2, N_NIGHT - 2)

    tonight = lake.read("classifications", where={"run_date": next_night}).to_pandas()
    assert len(tonight) == N_NIGHT
    answer = ["product_id", "content_hash", "category", "confidence", "needs_review"]
    kept = valid[~valid["product_id"].isin(changed)][answer].sort_values("product_id")
    now = tonight[~tonight["product_id"].isin(changed)][answer].sort_values("product_id")
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), now.reset_index(drop=True))
    assert not set(tonight[tonight["product_id"].isin(changed)]["content_hash"]) & set(
        valid["content_hash"])

    # a rule added today decides a carried-over product; a stricter cut reviews them all
    target = kept.iloc[0]
    title = frame.loc[frame["product_id"] == target["product_id"], "title"].iloc[0]
    rule = add_rule(lake, "title", re.escape(title), target["category"], priority=9,
                    taxonomy={target["category"]})
    result = run_step("classify", world.settings.replace(review_threshold=1.0), next_night)
    assert result.carried_over == N_NIGHT  # a rerun keeps its own night's answers
    tonight = lake.read("classifications", where={"run_date": next_night}).to_pandas()
    by_rule = tonight[tonight["decided_by"] == rule.rule_id]
    assert by_rule["product_id"].tolist() == [target["product_id"]]
    by_model = tonight[tonight["decided_by"] == "model"]
    assert (by_model["needs_review"] == (by_model["confidence"] < 1.0)).all()
    assert by_model["needs_review"].sum() > kept["needs_review"].sum()

    # another top_k: last night's answers do not fit, every product meets the model
    fewer = world.settings.replace(top_k=2)
    result = run_step("classify", fewer, next_night)
    assert (result.by_model, result.carried_over) == (N_NIGHT, 0)
    tonight = lake.read("classifications", where={"run_date": next_night}).to_pandas()
    assert tonight["top_k"].map(len).max() == 2
