"""catalog_ml.pipeline.review on a real night: export the queue, import decisions, retrain."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog_ml.cli import main
from catalog_ml.pipeline.nightly import run_step
from catalog_ml.pipeline.train import train_from_lake
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_review_round_trip_corrects_the_next_model(classified_lake, tmp_path):
    world = classified_lake.copy(tmp_path)
    settings, lake = world.settings, world.lake
    # everything below full confidence goes to review, so the queue is long enough to edit
    run_step("classify", settings.replace(review_threshold=1.0), NIGHT)
    out = tmp_path / "review.csv"
    assert main(["review", "export", "--date", NIGHT.isoformat(), "--out", str(out),
                 "--lake", lake.root]) == 0
    queue = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert 3 <= len(queue) <= N_NIGHT
    assert queue["confidence"].astype(float).is_monotonic_increasing
    edited = queue.head(3).index
    queue.loc[edited, "correct_category"] = queue.loc[edited, "top_2"]
    queue.to_csv(out, index=False)
    assert main(["review", "import", str(out), "--lake", lake.root]) == 0
    labels = lake.read("labels").to_pandas()
    assert (labels["source"] == "review").sum() == 3
    result = train_from_lake(settings.replace(promotion_margin=-1.0))  # the corrected one wins
    assert result["promotion"]["promoted"] is True
    run_step("classify", settings, NIGHT)
    classified = lake.read("classifications", where={"run_date": NIGHT}).to_pandas()
    corrected = dict(zip(queue.loc[edited, "product_id"], queue.loc[edited, "top_2"],
                         strict=True))
    got = classified.set_index("product_id").loc[list(corrected), "category"].to_dict()
    assert got == corrected


def test_a_bad_review_file_is_refused_naming_its_rows(classified_lake, tmp_path, capsys):
    lake = classified_lake.copy(tmp_path).lake
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"product_id": ["nope", classified_lake.mispriced],
                  "correct_category": ["Apparel > Topwear > Shirts", "Apparel >  > "]}).to_csv(
        bad, index=False)
    before = lake.version("labels")
    assert main(["review", "import", str(bad), "--lake", lake.root]) == 2
    error = capsys.readouterr().err
    assert "row 2" in error and "row 3" in error and "nothing imported" in error
    assert lake.version("labels") == before
