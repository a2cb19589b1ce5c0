"""catalog_ml.pipeline.nights: a command for a night that never ran says so."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog_ml.errors import NightMissingError
from catalog_ml.lake import Lake
from catalog_ml.pipeline.nights import nights, require_night
from tests.unit.lakes import add_night

D1, D2, D3 = (dt.date(2026, 11, d) for d in (1, 2, 3))


def test_a_night_counts_once_it_stored_products_or_only_rejected_rows(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a", "b"])
    add_night(lake, D2, [], quarantined=2)
    assert nights(lake) == [D1, D2]
    require_night(lake, D1)
    require_night(lake, D2)


def test_a_missing_night_names_the_latest_ones_and_the_command_to_run(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a"])
    with pytest.raises(NightMissingError, match=r"never ran .*latest nights: 2026-11-01.*nightly"):
        require_night(lake, D3)


def test_a_night_without_classifications_says_a_champion_may_be_missing(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a"])
    with pytest.raises(NightMissingError, match="no rows in classifications"):
        require_night(lake, D1, "classifications")
    add_night(lake, D2, ["a"], classified=True)
    require_night(lake, D2, "classifications")
