"""catalog_ml.pipeline.staging: the hand-over from validate to ingest, kept in the lake."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from catalog_ml.lake import Lake
from catalog_ml.pipeline.staging import StagingMissingError, load_staged, stage

NIGHT = dt.date(2026, 11, 2)


def test_what_validation_staged_comes_back_as_it_was(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    accepted = pd.DataFrame({"product_id": ["a", "b"], "price": [1.5, None]})
    rejected = pd.DataFrame({"product_id": ["x"], "reasons": [["title: empty"]]})
    stage(lake, NIGHT, accepted, rejected, {"rows": 3, "night": NIGHT})
    got_accepted, got_rejected, summary = load_staged(lake, NIGHT)
    pd.testing.assert_frame_equal(got_accepted, accepted)
    assert got_rejected["reasons"].map(list).tolist() == [["title: empty"]]
    assert summary == {"rows": 3, "night": "2026-11-02"}


def test_ingest_before_validate_says_which_step_to_run(tmp_path):
    with pytest.raises(StagingMissingError, match="run the validate step first"):
        load_staged(Lake(str(tmp_path / "lake")), NIGHT)
