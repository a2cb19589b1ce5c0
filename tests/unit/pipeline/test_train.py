"""catalog_ml.pipeline.train without Spark: which labelled products a training reads."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS, PRODUCTS
from catalog_ml.pipeline.train import labelled_products

NIGHT = dt.date(2026, 11, 2)


def _lake(tmp_path, n: int) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    ids = [f"p{i:05d}" for i in range(n)]
    categories = ["Home > Lamps" if i % 10 else "Home > Rugs" for i in range(n)]
    with lake.writer("test"):
        lake.upsert("products", pa.Table.from_pylist(
            [{"product_id": pid, "title": f"t {pid}", "content_hash": f"h{pid}",
              "first_seen": NIGHT, "last_seen": NIGHT, "dump_date": NIGHT} for pid in ids],
            schema=PRODUCTS.schema))
        lake.upsert("labels", pa.Table.from_pylist(
            [{"product_id": pid, "category": c, "source": "dump", "dump_date": NIGHT,
              "content_hash": f"h{pid}"} for pid, c in zip(ids, categories, strict=True)],
            schema=LABELS.schema))
    return lake


def test_every_labelled_product_is_read_below_the_cap(tmp_path):
    frame = labelled_products(_lake(tmp_path, 300), max_products=1_000)
    assert len(frame) == 300 and frame["product_id"].is_monotonic_increasing
    assert {"title", "category", "source", "content_hash"} <= set(frame.columns)


def test_above_the_cap_a_stratified_sample_is_read_and_only_its_products(tmp_path):
    frame = labelled_products(_lake(tmp_path, 3_000), max_products=500)
    assert len(frame) <= 500
    shares = frame["category"].value_counts(normalize=True)
    assert 0.05 < shares["Home > Rugs"] < 0.2  # the catalog's 10 %, give or take the floor
    assert frame["title"].notna().all()
