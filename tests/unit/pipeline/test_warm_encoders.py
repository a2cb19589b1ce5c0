"""catalog_ml.pipeline.warm_encoders: encoders loaded in a second process embed exactly as
the in-process ones do, and a child that cannot load or that dies is never a silent loss."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from catalog_ml.config import load_settings
from catalog_ml.errors import EnvironmentFault
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.pipeline.embed_batches import embed_rows, worker_encoders
from catalog_ml.pipeline.warm_encoders import (
    _WARM,
    WarmEncoders,
    release,
    warm_encoders,
    warm_for,
)

pytestmark = pytest.mark.slow


def _rows(photo: str) -> pd.DataFrame:
    return pd.DataFrame({"title": ["Blue denim jacket", "Running shoes", "Leather handbag"],
                         "brand": ["Levis", None, "Hidesign"],
                         "description": [None, "light and fast", None],
                         "image_uri": [photo, None, "file:///nowhere/missing.jpg"]})


def test_the_child_embeds_what_this_process_would_and_a_dead_child_is_an_error(tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "red.jpg")
    rows = _rows((tmp_path / "red.jpg").as_uri())
    spec_json = EncoderSpec.from_settings(load_settings()).check().to_json()
    warm = WarmEncoders(spec_json, {})
    try:
        assert warm.ready()
        child = warm.embed(rows)
        here = embed_rows(worker_encoders(spec_json, 1, {}), rows)
        assert child.schema == here.schema
        assert child["image_status"].to_pylist() == here["image_status"].to_pylist()
        assert child["image_vector"].null_count == 2 and child["image_vector"][0].is_valid
        for column in ("text_vector", "image_vector"):
            for a, b in zip(child[column].to_pylist(), here[column].to_pylist(), strict=True):
                assert (a is None) == (b is None)
                if b is not None:
                    np.testing.assert_allclose(a, b, atol=1e-6)
        warm.kill()
        with pytest.raises(EnvironmentFault, match="encoder process exited"):
            warm.embed(rows)
    finally:
        warm.close()
        warm.close()  # a second close is a no-op
    assert not warm.alive()


def test_a_child_that_cannot_load_leaves_the_embedding_to_this_process(tmp_path, caplog):
    spec = EncoderSpec.from_settings(load_settings())
    broken = dataclasses.replace(spec, image_weights_path=str(tmp_path / "gone.pt"))
    warm = WarmEncoders(broken.to_json(), {})
    with caplog.at_level(logging.WARNING, logger="catalog_ml.pipeline.warm_encoders"):
        assert not warm.ready()
    assert "not usable" in caplog.text and "gone.pt" in caplog.text
    assert not warm.alive()


def test_no_child_where_the_night_runs_on_spark_or_the_setting_is_off():
    settings = load_settings()
    spec_json = EncoderSpec.from_settings(settings).to_json()
    with warm_encoders(settings):
        warm = _WARM[spec_json]
        release(spec_json)  # the embed step found the night too big for the driver
        assert warm_for(spec_json) is None and not warm.alive()
    for settings in (load_settings(driver_max_products=0), load_settings(warm_encoders=False),
                     load_settings(spark_master="spark://127.0.0.1:7077")):
        with warm_encoders(settings):
            assert warm_for(EncoderSpec.from_settings(settings).to_json()) is None


def test_a_resident_worker_holds_the_encoders_itself_and_starts_no_child():
    import sys

    from catalog_ml.features.encoders import _CACHE
    from catalog_ml.pipeline.warm_encoders import _RESIDENT, NIGHT_MODULES, become_resident

    settings = load_settings()
    spec = EncoderSpec.from_settings(settings)
    try:
        assert become_resident(settings) == spec.version
        assert spec.to_json() in _CACHE  # loaded now, for every night to come
        assert all(module in sys.modules for module in NIGHT_MODULES)
        with warm_encoders(settings):
            assert _WARM == {} and warm_for(spec.to_json()) is None
    finally:
        _RESIDENT.clear()  # this test process is not a worker for the tests after it
