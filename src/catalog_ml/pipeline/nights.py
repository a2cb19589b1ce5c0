"""Which nights a lake holds, so a command for a night that never ran says so."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc

from catalog_ml.errors import NightMissingError
from catalog_ml.lake import Lake


def nights(lake: Lake) -> list[dt.date]:
    """Every night that reached ingest: it has valid products or quarantined rows."""
    found: set[dt.date] = set()
    for name in ("product_snapshots", "quarantine"):
        column = lake.read(name, columns=["dump_date"]).column("dump_date")
        found.update(pc.unique(column).to_pylist())
    return sorted(found)


def require_night(lake: Lake, night: dt.date, table: str | None = None) -> None:
    """NightMissingError unless ``night`` ran (and, with ``table``, wrote rows to it)."""
    lake.require()
    ran = any(lake.read(name, where={"dump_date": night}, columns=["dump_date"]).num_rows
              for name in ("product_snapshots", "quarantine"))
    if not ran:
        held = nights(lake)
        recent = ", ".join(d.isoformat() for d in held[-5:]) or "none"
        raise NightMissingError(f"night {night} never ran on the lake at {lake.root} "
                                f"(latest nights: {recent}); run `catalog-ml nightly` for it")
    if table is not None:
        key = "run_date" if table == "classifications" else "dump_date"
        if lake.read(table, where={key: night}, columns=[key]).num_rows == 0:
            raise NightMissingError(f"night {night} has no rows in {table} on the lake at "
                                    f"{lake.root}; was it classified (is there a champion)?")
