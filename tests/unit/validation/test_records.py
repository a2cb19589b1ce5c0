"""catalog_ml.validation.records: accepted rows as typed records with a content hash."""

from __future__ import annotations

import json
import math

import pandas as pd

from catalog_ml.validation.dump import ROW_COLUMN
from catalog_ml.validation.records import SNAPSHOT_COLUMNS, content_hash, typed_rows


def test_the_hash_covers_the_content_and_not_the_label():
    base = {"title": "Lamp", "price": 10.0, "image_digest": "abc", "category": "Home"}
    assert content_hash(base) == content_hash({**base, "category": "Garden"})
    assert content_hash(base) != content_hash({**base, "image_digest": "abd"})
    assert content_hash(base) != content_hash({**base, "price": 10.5})


def test_typed_rows_keep_extra_columns_as_attributes_and_normalise_the_category():
    frame = pd.DataFrame([{
        ROW_COLUMN: 3, "product_id": "p1", "title": "Lamp", "price_value": float("nan"),
        "category": "Home>Lamps", "colour": "red", "gender": None}])
    rows = typed_rows(frame, ["product_id", "title", "price", "category", "colour", "gender"])
    assert list(rows.columns) == SNAPSHOT_COLUMNS
    row = rows.iloc[0]
    assert row["category"] == "Home > Lamps" and row["source_row"] == 3
    assert row["price"] is None or math.isnan(row["price"])
    assert json.loads(row["attributes"]) == {"colour": "red"}
    assert len(row["content_hash"]) == 64
