"""Small real lakes for unit tests: a night's rows written through delta-rs, no Spark."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import CLASSIFICATIONS, LABELS, PRODUCT_SNAPSHOTS, QUARANTINE


def add_night(lake: Lake, night: dt.date, ids: list[str], quarantined: int = 0,
              categories: dict[str, str] | None = None, classified: bool = False) -> None:
    """Snapshots of ``ids`` (with dump labels from ``categories``), ``quarantined`` rejected
    rows and, with ``classified``, one classification per product."""
    categories = categories or {}
    with lake.writer("test night"):
        lake.append("product_snapshots", pa.Table.from_pylist(
            [{"dump_date": night, "product_id": pid, "title": f"title {pid}",
              "content_hash": f"h-{pid}", "category": categories.get(pid), "source_row": i}
             for i, pid in enumerate(ids)], schema=PRODUCT_SNAPSHOTS.schema))
        if quarantined:
            lake.append("quarantine", pa.Table.from_pylist(
                [{"dump_date": night, "source_row": 1000 + i, "product_id": None,
                  "reasons": ["title: empty"], "raw_record": "{}"}
                 for i in range(quarantined)], schema=QUARANTINE.schema))
        labelled = [pid for pid in ids if pid in categories]
        if labelled:
            lake.upsert("labels", pa.Table.from_pylist(
                [{"product_id": pid, "category": categories[pid], "source": "dump",
                  "dump_date": night, "content_hash": f"h-{pid}"} for pid in labelled],
                schema=LABELS.schema))
        if classified:
            lake.append("classifications", pa.Table.from_pylist(
                [{"run_date": night, "product_id": pid, "content_hash": f"h-{pid}",
                  "category": categories.get(pid, "Home > Lamps"), "confidence": 0.9,
                  "model_version": "m1", "needs_review": False} for pid in ids],
                schema=CLASSIFICATIONS.schema))
