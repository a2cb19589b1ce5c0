"""Step 2 of a night: staged rows into quarantine, product_snapshots, products and labels.

Each table gets one atomic commit, and each commit replaces (or merges) exactly the night's
share, so rerunning a night gives the same tables. ``products`` keeps the content of the latest
night that held a product: backfilling an older night only widens first/last seen.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pyarrow as pa

from catalog_ml.config import Settings
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS, PRODUCT_SNAPSHOTS, PRODUCTS, QUARANTINE
from catalog_ml.pipeline.staging import load_staged

log = logging.getLogger(__name__)
_CONTENT = [f.name for f in PRODUCTS.schema if f.name not in
            ("product_id", "first_seen", "last_seen", "dump_date")]


def _newer(column: str) -> str:
    return f"CASE WHEN s.dump_date >= t.dump_date THEN s.{column} ELSE t.{column} END"


PRODUCT_MERGE_UPDATES = {
    **{c: _newer(c) for c in (*_CONTENT, "dump_date")},
    "first_seen": "CASE WHEN s.first_seen < t.first_seen THEN s.first_seen ELSE t.first_seen END",
    "last_seen": "CASE WHEN s.last_seen > t.last_seen THEN s.last_seen ELSE t.last_seen END",
}


def ingest_night(settings: Settings, night: dt.date) -> dict[str, Any]:
    lake = Lake.from_settings(settings)
    accepted, rejected, summary = load_staged(lake, night)
    now = dt.datetime.now(dt.UTC)

    quarantine = pa.Table.from_pylist([
        {"dump_date": night, "source_row": int(r["source_row"]), "product_id": r["product_id"],
         "reasons": list(r["reasons"]), "raw_record": r["raw_record"],
         "source_file": summary["source_file"], "quarantined_at": now}
        for r in rejected.to_dict(orient="records")], schema=QUARANTINE.schema)
    lake.replace_slice("quarantine", quarantine, {"dump_date": night})

    snapshot_rows = accepted.assign(dump_date=night).to_dict(orient="records")
    for row in snapshot_rows:
        row["price"] = None if row["price"] != row["price"] else row["price"]  # NaN -> None
    snapshots = pa.Table.from_pylist(snapshot_rows, schema=PRODUCT_SNAPSHOTS.schema)
    lake.replace_slice("product_snapshots", snapshots, {"dump_date": night})

    products = pa.Table.from_pylist(
        [{**{k: row[k] for k in ("product_id", *_CONTENT)}, "first_seen": night,
          "last_seen": night, "dump_date": night} for row in snapshot_rows],
        schema=PRODUCTS.schema)
    merged = lake.upsert("products", products, updates=PRODUCT_MERGE_UPDATES)

    labels = pa.Table.from_pylist(
        [{"product_id": row["product_id"], "category": row["category"], "source": "dump",
          "dump_date": night, "content_hash": row["content_hash"], "labelled_at": now}
         for row in snapshot_rows if row["category"]], schema=LABELS.schema)
    lake.replace_slice("labels", labels, {"dump_date": night, "source": "dump"})

    result = {"night": night.isoformat(), "products": snapshots.num_rows,
              "quarantined": quarantine.num_rows, "labelled": labels.num_rows,
              "new_products": int(merged.get("num_target_rows_inserted", 0))}
    log.info("ingested night %s: %s", night, result)
    return result
