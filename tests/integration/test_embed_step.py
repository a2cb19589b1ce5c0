"""The embed step on Spark with real encoders: bad photos never stop a product."""

from __future__ import annotations

import datetime as dt

import pytest
from PIL import Image

from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.pipeline.embed import embed_products

pytestmark = pytest.mark.spark


def test_unreadable_photos_leave_a_null_image_vector_and_keep_the_text(spark, settings, tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(good)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 broken")
    rows = [("a", "h1", "Green lamp", None, None, good.as_uri()),
            ("b", "h2", "Broken photo lamp", "Kivo", "desc", corrupt.as_uri()),
            ("c", "h3", "Photo gone", None, None, (tmp_path / "gone.jpg").as_uri()),
            ("d", "h4", "No photo at all", None, None, None)]
    frame = spark.createDataFrame(rows, "product_id string, content_hash string, title string, "
                                        "brand string, description string, image_uri string")
    night = dt.date(2026, 11, 2)
    assert embed_products(frame, settings, night)["embedded"] == 4
    stored = {r["product_id"]: r for r in Lake(settings.lake).read("embeddings").to_pylist()}
    assert stored["a"]["image_status"] == "ok" and len(stored["a"]["image_vector"]) == 1280
    for pid in ("b", "c"):
        assert stored[pid]["image_vector"] is None
        assert stored[pid]["image_status"].startswith("unreadable")
    assert stored["d"]["image_status"] == "none"
    assert all(len(r["text_vector"]) == 384 for r in stored.values())
    assert {r["encoder_version"] for r in stored.values()} == {
        EncoderSpec.from_settings(settings).version}
    assert embed_products(frame, settings, night)["embedded"] == 0  # nothing new the 2nd time
