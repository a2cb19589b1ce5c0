"""catalog_ml.reports.night_data: one night and the one before it, read from the lake."""

from __future__ import annotations

import datetime as dt

from catalog_ml.lake import Lake
from catalog_ml.reports.night_data import load_night, previous_night
from tests.unit.lakes import add_night

D1, D2, D4 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 4)


def test_the_previous_night_is_the_latest_earlier_one_with_products(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a", "b"], classified=True)
    add_night(lake, D2, [], quarantined=3)  # only rejected rows: not a night to compare with
    add_night(lake, D4, ["a", "c"], quarantined=1, classified=True)
    assert previous_night(lake, D4) == D1 and previous_night(lake, D1) is None
    night = load_night(lake, D4)
    assert night.previous_night == D1
    assert sorted(night.classified["product_id"]) == ["a", "c"]
    assert night.classified["title"].tolist() == ["title a", "title c"]  # joined with snapshot
    assert sorted(night.previous_classified["product_id"]) == ["a", "b"]
    assert len(night.quarantine) == 1


def test_the_first_night_has_empty_previous_frames_with_the_same_columns(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a"], classified=True)
    night = load_night(lake, D1)
    assert night.previous_night is None and night.previous_classified.empty
    assert list(night.previous_classified.columns) == list(night.classified.columns)
