"""catalog_ml.models.registry: versions, one champion at a time, promote and roll back."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog_ml.errors import ArtifactError, ConfigError
from catalog_ml.lake import Lake
from catalog_ml.models.registry import (
    UnknownVersionError,
    champion,
    new_version,
    promote,
    record,
    register,
    rollback,
    summary_rows,
)


def test_the_first_model_is_champion_and_later_ones_are_challengers(tmp_path, trained):
    lake = Lake(str(tmp_path / "lake"))
    model = trained[2]
    first = register(lake, model, label_snapshot="3", evaluation=("{}", "<html></html>"))
    second = register(lake, model, label_snapshot="4")
    assert (first.status, second.status) == ("champion", "challenger")
    assert champion(lake).version == first.version != second.version
    assert lake.file_exists(f"{first.artifact_path}/evaluation.html")
    rows = summary_rows(lake)
    assert [r["version"] for r in rows] == [first.version, second.version]
    assert rows[0]["classes"] == len(model.classes) and rows[0]["labels"] == "3"


def test_promote_and_rollback_keep_exactly_one_champion(tmp_path, trained):
    lake = Lake(str(tmp_path / "lake"))
    first = register(lake, trained[2], label_snapshot="0")
    second = register(lake, trained[2], label_snapshot="1")
    promote(lake, second.version)
    assert champion(lake).version == second.version
    assert record(lake, first.version).status == "retired"
    assert rollback(lake).version == first.version
    statuses = [r["status"] for r in summary_rows(lake)]
    assert statuses.count("champion") == 1
    with pytest.raises(UnknownVersionError, match="no model version 'nope'"):
        promote(lake, "nope")


def test_nothing_to_roll_back_to_is_a_clear_error(tmp_path, trained):
    lake = Lake(str(tmp_path / "lake"))
    register(lake, trained[2], label_snapshot="0")
    with pytest.raises(ConfigError, match="nothing to roll back to"):
        rollback(lake)


def test_versions_are_unique_even_within_one_second():
    now = dt.datetime(2026, 11, 2, 3, 4, 5, tzinfo=dt.UTC)
    first = new_version(now, set())
    assert new_version(now, {first}) != first


def test_a_loaded_champion_is_verified_against_its_checksum(tmp_path, trained):
    lake = Lake(str(tmp_path / "lake"))
    entry = register(lake, trained[2], label_snapshot="0")
    assert entry.load(lake).classes == trained[2].classes
    weights = tmp_path / "lake" / entry.artifact_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ArtifactError, match="SHA-256"):
        entry.verify(lake)
