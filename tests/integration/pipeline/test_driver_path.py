"""A small night in the driver process (no Spark job) gives the tables the Spark path gives."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from catalog_ml.pipeline.nightly import run_night
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("product_id").reset_index(drop=True)


def test_a_small_night_in_the_driver_equals_the_spark_night(trained_lake, classified_lake,
                                                            tmp_path, caplog):
    """The encoders load in a second process while the night validates, and embed there."""
    world = trained_lake.copy(tmp_path)
    settings = world.settings.replace(driver_max_products=10_000)
    world = dataclasses.replace(world, settings=settings)
    with caplog.at_level(logging.INFO, logger="catalog_ml.pipeline.embed"):
        results = run_night(settings, NIGHT, world.dump("tonight"))
    assert "encoders loaded while validating" in caplog.text
    assert results["embed"].embedded == classified_lake.outcome["embed"].embedded > 0
    assert results["classify"].classified == N_NIGHT

    def night(lake, table):
        if table == "embeddings":  # tonight's products' vectors, whenever they were made
            hashes = set(lake.read("product_snapshots", where={"dump_date": NIGHT},
                                   columns=["content_hash"]).column("content_hash").to_pylist())
            return _sorted(lake.read(table, where={"content_hash": hashes}).to_pandas())
        return _sorted(lake.read(table, where={"run_date": NIGHT}).to_pandas())

    spark_vectors, driver_vectors = (night(w.lake, "embeddings")
                                     for w in (classified_lake, world))
    assert len(driver_vectors) == N_NIGHT
    assert driver_vectors["content_hash"].tolist() == spark_vectors["content_hash"].tolist()
    for column in ("text_vector", "image_vector"):
        for a, b in zip(spark_vectors[column], driver_vectors[column], strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, atol=2e-5)
    assert driver_vectors["image_status"].tolist() == spark_vectors["image_status"].tolist()

    spark_rows, driver_rows = (night(w.lake, "classifications")
                               for w in (classified_lake, world))
    assert driver_rows["category"].tolist() == spark_rows["category"].tolist()
    assert driver_rows["needs_review"].tolist() == spark_rows["needs_review"].tolist()
    np.testing.assert_allclose(driver_rows["confidence"], spark_rows["confidence"], atol=1e-4)
