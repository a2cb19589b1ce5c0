"""Step 2 of a night: staged rows into quarantine, product_snapshots, products and labels.

Each table gets one atomic commit, and each commit replaces (or merges) exactly the night's
share, so rerunning a night gives the same tables. ``products`` keeps the content of the latest
night that held a product: backfilling an older night only widens first/last seen. A corrected
rerun that no longer holds a product withdraws the night's part in it: the product's row is
rebuilt from the nights that still hold it, or deleted when none does.
"""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pyarrow.compute as pc

from catalog_ml.config import Settings
from catalog_ml.lake import Lake
from catalog_ml.lake.store import sql_literal
from catalog_ml.lake.tables import LABELS, PRODUCT_SNAPSHOTS, PRODUCTS, QUARANTINE
from catalog_ml.pipeline.results import Ingested
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


def ingest_night(settings: Settings, night: dt.date) -> Ingested:
    lake = Lake.from_settings(settings)
    accepted, rejected, summary = load_staged(lake, night)  # summary: Validated.to_xcom()
    now = dt.datetime.now(dt.UTC)

    quarantine = pa.Table.from_pylist([
        {"dump_date": night, "source_row": int(r["source_row"]), "product_id": r["product_id"],
         "reasons": list(r["reasons"]), "raw_record": r["raw_record"],
         "source_file": summary["source_file"], "quarantined_at": now}
        for r in rejected.to_dict(orient="records")], schema=QUARANTINE.schema)
    lake.replace_slice("quarantine", quarantine, {"dump_date": night})

    snapshot_rows = accepted.assign(dump_date=night).to_dict(orient="records")
    for row in snapshot_rows:
        row["price"] = _price_or_none(row["price"])
    snapshots = pa.Table.from_pylist(snapshot_rows, schema=PRODUCT_SNAPSHOTS.schema)
    lake.replace_slice("product_snapshots", snapshots, {"dump_date": night})

    products = pa.Table.from_pylist(
        [{**{k: row[k] for k in ("product_id", *_CONTENT)}, "first_seen": night,
          "last_seen": night, "dump_date": night} for row in snapshot_rows],
        schema=PRODUCTS.schema)
    merged = lake.upsert("products", products, updates=PRODUCT_MERGE_UPDATES)
    withdrawn = withdraw_products(lake, night, set(snapshots.column("product_id").to_pylist()))

    labels = pa.Table.from_pylist(
        [{"product_id": row["product_id"], "category": row["category"], "source": "dump",
          "dump_date": night, "content_hash": row["content_hash"], "labelled_at": now}
         for row in snapshot_rows if row["category"]], schema=LABELS.schema)
    lake.replace_slice("labels", labels, {"dump_date": night, "source": "dump"})

    result = Ingested(night=night, products=snapshots.num_rows,
                      quarantined=quarantine.num_rows, labelled=labels.num_rows,
                      new_products=int(merged.get("num_target_rows_inserted", 0)),
                      withdrawn_products=withdrawn)
    log.info("ingested night %s: %d products, %d quarantined, %d labelled, %d new", night,
             result.products, result.quarantined, result.labelled, result.new_products)
    return result


def _price_or_none(price: float | None) -> float | None:
    """pandas' NaN for a missing price as the table's null."""
    return None if price is None or price != price else price


def withdraw_products(lake: Lake, night: dt.date, tonight: set[str]) -> int:
    """Rebuild (or delete) the ``products`` rows that name ``night`` but are not in its dump.

    Derived from the tables as they are, not from a diff, so a crash between the snapshot
    commit and this one is mended by the next run of the night.
    """
    current = lake.read("products", columns=["product_id", "first_seen", "last_seen",
                                             "dump_date"])
    day = pa.scalar(night, pa.date32())
    touched = pc.or_(pc.or_(pc.equal(current["first_seen"], day),
                            pc.equal(current["last_seen"], day)),
                     pc.equal(current["dump_date"], day))
    stale = set(current.filter(touched).column("product_id").to_pylist()) - tonight
    if not stale:
        return 0
    held = lake.read("product_snapshots", where={"product_id": stale}).to_pandas()
    rebuilt = []
    for product_id, rows in held.groupby("product_id"):
        latest = rows.sort_values("dump_date").iloc[-1]
        rebuilt.append({**{k: latest[k] for k in _CONTENT}, "product_id": product_id,
                        "first_seen": rows["dump_date"].min(),
                        "last_seen": rows["dump_date"].max(), "dump_date": latest["dump_date"]})
    if rebuilt:
        for row in rebuilt:
            row["price"] = _price_or_none(row["price"])
        lake.upsert("products", pa.Table.from_pylist(rebuilt, schema=PRODUCTS.schema))
    gone = stale - {row["product_id"] for row in rebuilt}
    if gone:
        quoted = ", ".join(sql_literal(p) for p in sorted(gone))
        lake.table("products").delete(f"product_id IN ({quoted})")
    log.info("night %s: %d products withdrawn by a rerun (%d rebuilt, %d deleted)", night,
             len(stale), len(rebuilt), len(gone))
    return len(stale)
