"""catalog_ml.pipeline.classify: a lake classifies with its own verified model."""

from __future__ import annotations

import json
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
