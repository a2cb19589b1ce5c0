"""Nightly reports and the review round trip on real products over consecutive nights.

Myntra products and photos, with prices drawn per article type (the real set has none).
Tests run in file order on one lake, as nights follow each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalog_ml.cli import main
from catalog_ml.config import load_settings
from catalog_ml.lake import Lake
from catalog_ml.pipeline.nightly import run_night, run_step
from catalog_ml.pipeline.train import train_from_lake

from ..conftest import fashion_rows, write_fashion_dump

pytestmark = [pytest.mark.spark, pytest.mark.slow]
LABELLED, FIRST, SAME, MOVED = (dt.date(2026, 9, d) for d in (1, 2, 3, 4))
REPORTS = ("report_inventory", "report_pricing", "report_quality")


def typical_price(article_type: str) -> float:
    return 150.0 + int(hashlib.sha256(article_type.encode()).hexdigest()[:4], 16) % 40 * 75


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    base = tmp_path_factory.mktemp("reports")
    settings = load_settings(lake=str(base / "lake"), spark_master="local[2]",
                             train_epochs=15, cv_folds=3)
    rows = fashion_rows()
    rows = rows[rows["articleType"].map(rows["articleType"].value_counts()) >= 40]
    rows = rows.sample(n=480, random_state=5).reset_index(drop=True)
    noise = np.random.default_rng(5).lognormal(0, 0.15, len(rows))
    rows["price"] = [round(typical_price(t) * n, 2) for t, n in zip(rows["articleType"], noise,
                                                                     strict=True)]
    write_fashion_dump(base / "labelled", rows.iloc[:360], labelled=True)
    night = rows.iloc[360:].copy()
    write_fashion_dump(base / "night", night, labelled=False)
    apparel = night[night["masterCategory"] == "Apparel"].copy()
    mispriced = apparel.index[0]
    apparel.loc[mispriced, "price"] *= 100
    write_fashion_dump(base / "moved", apparel, labelled=False)
    return {"base": base, "settings": settings, "lake": Lake(settings.lake), "night": night,
            "apparel": apparel, "mispriced": str(apparel.loc[mispriced, "id"])}


def rows_for(lake: Lake, name: str, night: dt.date) -> pd.DataFrame:
    return lake.read(name, where={"run_date": night}).to_pandas()


def test_a_night_without_a_model_still_reports_its_data(world):
    results = run_night(world["settings"], LABELLED, str(world["base"] / "labelled"))
    quality = rows_for(world["lake"], "report_quality", LABELLED).iloc[0]
    assert quality["rows_received"] == 360 and quality["classified"] == 0
    assert quality["share_with_price"] == 1.0 and quality["share_with_image"] == 1.0
    assert Path(results["report"].report).exists()
    train_from_lake(world["settings"])


def test_two_identical_nights_report_no_drift_and_no_change(world):
    settings, lake = world["settings"], world["lake"]
    for night in (FIRST, SAME):
        run_night(settings, night, str(world["base"] / "night"))
    for night in (FIRST, SAME):
        classified = lake.read("classifications", where={"run_date": night}).num_rows
        inventory = rows_for(lake, "report_inventory", night)
        assert inventory[inventory["level"] == 1]["products"].sum() == classified == 120
        for level in (1, 2, 3):
            assert inventory[inventory["level"] == level]["products"].sum() == classified
        quality = rows_for(lake, "report_quality", night).iloc[0]
        assert quality["rows_received"] == classified + lake.read(
            "quarantine", where={"dump_date": night}).num_rows
        assert quality["needs_review_share"] == pytest.approx(
            inventory[inventory["level"] == 1]["needs_review"].sum() / classified)
    same = rows_for(lake, "report_quality", SAME).iloc[0]
    assert same["category_drift"] == 0 and same["category_changes"] == 0
    assert same["previous_night"] == FIRST
    inventory = rows_for(lake, "report_inventory", SAME)
    assert inventory[["new", "changed", "removed"]].to_numpy().sum() == 0
    first = rows_for(lake, "report_inventory", FIRST)
    assert first[first["level"] == 1]["new"].sum() == 120  # new against the labelled night


def test_a_changed_mix_drifts_and_a_hundredfold_price_is_flagged(world):
    settings, lake = world["settings"], world["lake"]
    run_night(settings, MOVED, str(world["base"] / "moved"))
    quality = rows_for(lake, "report_quality", MOVED).iloc[0]
    assert quality["category_drift"] > 0.05
    inventory = rows_for(lake, "report_inventory", MOVED)
    assert inventory[inventory["level"] == 1]["removed"].sum() == 120 - len(world["apparel"])
    anomalies = rows_for(lake, "price_anomalies", MOVED)
    assert world["mispriced"] in set(anomalies["product_id"])
    assert len(anomalies) <= 3  # the lognormal spread of honest prices is not flagged
    pricing = rows_for(lake, "report_pricing", MOVED)
    assert pricing[pricing["level"] == 1]["priced"].sum() == len(world["apparel"])
    html = Path(lake.file_path(f"reports/{MOVED}/report.html")).read_text()
    assert html.count("<svg") >= 4 and "<script" not in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")


def test_rerunning_a_night_replaces_its_report_rows(world, capsys):
    lake = world["lake"]
    before = {name: len(rows_for(lake, name, MOVED)) for name in REPORTS}
    assert main(["report", "--date", MOVED.isoformat(), "--lake", lake.root]) == 0
    assert capsys.readouterr().out.strip().endswith(f"reports/{MOVED}/report.html")
    assert {name: len(rows_for(lake, name, MOVED)) for name in REPORTS} == before
    assert {name: len(rows_for(lake, name, SAME)) > 0 for name in REPORTS} == dict.fromkeys(
        REPORTS, True)


def test_review_round_trip_corrects_the_next_model(world, monkeypatch, tmp_path, capsys):
    settings, lake = world["settings"], world["lake"]
    # everything below full confidence goes to review, so the queue is long enough to edit
    run_step("classify", settings.replace(review_threshold=1.0), MOVED)
    out = tmp_path / "review.csv"
    assert main(["review", "export", "--date", MOVED.isoformat(), "--out", str(out),
                 "--lake", lake.root]) == 0
    queue = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert 3 <= len(queue) <= len(world["apparel"])
    confidences = queue["confidence"].astype(float)
    assert confidences.is_monotonic_increasing
    edited = queue.head(3).index
    queue.loc[edited, "correct_category"] = queue.loc[edited, "top_2"]
    queue.to_csv(out, index=False)
    assert main(["review", "import", str(out), "--lake", lake.root]) == 0
    labels = lake.read("labels").to_pandas()
    assert (labels["source"] == "review").sum() == 3
    monkeypatch.setenv("CATALOG_ML_PROMOTION_MARGIN", "-1")  # the corrected model takes over
    result = train_from_lake(settings.replace(promotion_margin=-1.0))
    assert result["promotion"]["promoted"] is True
    run_step("classify", settings, MOVED)
    classified = lake.read("classifications", where={"run_date": MOVED}).to_pandas()
    corrected = dict(zip(queue.loc[edited, "product_id"], queue.loc[edited, "top_2"],
                         strict=True))
    got = classified.set_index("product_id").loc[list(corrected), "category"].to_dict()
    assert got == corrected


def test_a_bad_review_file_is_refused_naming_its_rows(world, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"product_id": ["nope", world["mispriced"]],
                  "correct_category": ["Apparel > Topwear > Shirts", "Apparel >  > "]}).to_csv(
        bad, index=False)
    before = world["lake"].version("labels")
    assert main(["review", "import", str(bad), "--lake", world["lake"].root]) == 2
    error = capsys.readouterr().err
    assert "row 2" in error and "row 3" in error and "nothing imported" in error
    assert world["lake"].version("labels") == before
