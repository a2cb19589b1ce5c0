"""Accepted rows as typed product records with a content hash.

The hash covers everything that describes the product (text, price, image bytes, extra
attributes) but not its label: a product whose hash is unchanged needs no new embedding, and
one whose hash changed is "changed" for the reports.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pandas as pd

from catalog_ml.lake.tables import PRODUCT_SNAPSHOTS
from catalog_ml.taxonomy import normalise_category
from catalog_ml.validation.contract import KNOWN_COLUMNS
from catalog_ml.validation.dump import ROW_COLUMN

SNAPSHOT_COLUMNS = [f.name for f in PRODUCT_SNAPSHOTS.schema if f.name != "dump_date"]
HASH_FIELDS = ("title", "description", "brand", "price", "currency", "image", "image_digest",
               "attributes")


def content_hash(record: dict[str, Any]) -> str:
    payload = json.dumps([record.get(k) for k in HASH_FIELDS], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _attributes(row: dict[str, Any], extra: list[str]) -> str | None:
    values = {c: row[c] for c in extra if row.get(c) is not None}
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else None


def typed_rows(frame: pd.DataFrame, original_columns: list[str]) -> pd.DataFrame:
    """Validated text rows -> product_snapshots columns (all but dump_date)."""
    extra = [c for c in original_columns if c not in KNOWN_COLUMNS]
    records = []
    for row in frame.to_dict(orient="records"):
        price = row["price_value"]
        record = {
            "product_id": row["product_id"],
            "title": row["title"],
            "description": row.get("description"),
            "brand": row.get("brand"),
            "price": None if price is None or math.isnan(price) else float(price),
            "currency": row.get("currency"),
            "image": row.get("image"),
            "image_uri": row.get("image_uri"),
            "image_digest": row.get("image_digest"),
            "category": normalise_category(row.get("category")),
            "attributes": _attributes(row, extra),
            "source_row": int(row[ROW_COLUMN]),
        }
        record["content_hash"] = content_hash(record)
        del record["image_digest"]
        records.append(record)
    return pd.DataFrame.from_records(records, columns=SNAPSHOT_COLUMNS)
