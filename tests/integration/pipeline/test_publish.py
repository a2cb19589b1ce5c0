"""catalog_ml.pipeline.publish: the night's report tables and page, from real nights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from catalog_ml.cli import main
from catalog_ml.lake import Lake
from catalog_ml.pipeline.nightly import run_night
from tests.integration.conftest import LABELLED, N_LABELLED, N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]
SAME, MOVED = dt.date(2026, 11, 3), dt.date(2026, 11, 4)
REPORTS = ("report_inventory", "report_pricing", "report_quality")


def rows_for(lake: Lake, name: str, night: dt.date) -> pd.DataFrame:
    return lake.read(name, where={"run_date": night}).to_pandas()


def test_a_night_without_a_model_still_reports_its_data(labelled_lake):
    quality = rows_for(labelled_lake.lake, "report_quality", LABELLED).iloc[0]
    assert quality["rows_received"] == N_LABELLED and quality["classified"] == 0
    assert quality["share_with_price"] == 1.0 and quality["share_with_image"] == 1.0
    assert Path(labelled_lake.outcome["report"].report).exists()


def test_two_identical_nights_report_no_drift_and_no_change(classified_lake, tmp_path):
    world = classified_lake.copy(tmp_path)
    lake = world.lake
    run_night(world.settings, SAME, world.dump("tonight"))
    for night in (NIGHT, SAME):
        classified = lake.read("classifications", where={"run_date": night}).num_rows
        inventory = rows_for(lake, "report_inventory", night)
        assert classified == N_NIGHT
        for level in (1, 2, 3):
            assert inventory[inventory["level"] == level]["products"].sum() == classified
        quality = rows_for(lake, "report_quality", night).iloc[0]
        assert quality["rows_received"] == classified + lake.read(
            "quarantine", where={"dump_date": night}).num_rows
        assert quality["needs_review_share"] == pytest.approx(
            inventory[inventory["level"] == 1]["needs_review"].sum() / classified)
    same = rows_for(lake, "report_quality", SAME).iloc[0]
    assert same["category_drift"] == 0 and same["category_changes"] == 0
    assert same["previous_night"] == NIGHT
    inventory = rows_for(lake, "report_inventory", SAME)
    assert inventory[["new", "changed", "removed"]].to_numpy().sum() == 0
    first = rows_for(lake, "report_inventory", NIGHT)
    assert first[first["level"] == 1]["new"].sum() == N_NIGHT  # new against the labelled night


def test_a_changed_mix_drifts_and_a_hundredfold_price_is_flagged(classified_lake, tmp_path):
    world = classified_lake.copy(tmp_path)
    lake = world.lake
    run_night(world.settings, MOVED, world.dump("moved"))
    quality = rows_for(lake, "report_quality", MOVED).iloc[0]
    assert quality["category_drift"] > 0.05
    inventory = rows_for(lake, "report_inventory", MOVED)
    assert inventory[inventory["level"] == 1]["removed"].sum() == N_NIGHT - len(world.apparel)
    anomalies = rows_for(lake, "price_anomalies", MOVED)
    assert world.mispriced in set(anomalies["product_id"])
    assert len(anomalies) <= 3  # the lognormal spread of honest prices is not flagged
    pricing = rows_for(lake, "report_pricing", MOVED)
    assert pricing[pricing["level"] == 1]["priced"].sum() == len(world.apparel)
    html = Path(lake.file_path(f"reports/{MOVED}/report.html")).read_text()
    assert html.count("<svg") >= 4 and "<script" not in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")


def test_rerunning_a_night_replaces_its_report_rows(classified_lake, tmp_path, capsys):
    lake = classified_lake.copy(tmp_path).lake
    before = {name: len(rows_for(lake, name, NIGHT)) for name in REPORTS}
    assert all(before.values())
    assert main(["report", "--date", NIGHT.isoformat(), "--lake", lake.root]) == 0
    assert capsys.readouterr().out.strip().endswith(f"reports/{NIGHT}/report.html")
    assert {name: len(rows_for(lake, name, NIGHT)) for name in REPORTS} == before
