"""catalog_ml.pipeline.reclassify: a new champion classifies the latest night again."""

from __future__ import annotations

import pytest

from catalog_ml.models.registry import champion, promote, register
from catalog_ml.pipeline.reclassify import latest_night, reclassify_latest
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_a_new_champion_replaces_the_latest_nights_classifications(classified_lake, tmp_path):
    world = classified_lake.copy(tmp_path)
    lake = world.lake
    assert latest_night(lake) == NIGHT
    before = lake.read("classifications", where={"run_date": NIGHT}).num_rows
    second = register(lake, champion(lake).load(lake), label_snapshot="again")
    promote(lake, second.version)
    result = reclassify_latest(world.settings)
    assert result.night == NIGHT and result.model_version == second.version
    assert result.classified == N_NIGHT and result.embedded == 0  # vectors were there
    rows = lake.read("classifications", where={"run_date": NIGHT})
    assert rows.num_rows == before == N_NIGHT
    assert set(rows.column("model_version").to_pylist()) == {second.version}


def test_a_lake_without_a_night_has_nothing_to_reclassify(settings):
    result = reclassify_latest(settings)
    assert result.classified == 0 and result.skipped == "no night in the lake yet"
