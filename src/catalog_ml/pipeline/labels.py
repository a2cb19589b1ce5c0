"""The lake's taxonomy: the categories its labels already use.

Labels of the dump and of reviews are checked against it (``catalog_ml.taxonomy``). A night's
own dump labels are left out when that night is validated again, so a rerun of the night that
founded the taxonomy accepts what it accepted the first time.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc

from catalog_ml.lake import Lake


def known_categories(lake: Lake, except_night: dt.date | None = None,
                     with_champion: bool = False) -> frozenset[str]:
    """The labels' categories; with ``with_champion`` also the champion's classes, which hold
    the parent paths that rare leaves are learnt as (a reviewer may accept such a guess)."""
    labels = lake.read("labels", columns=["category", "source", "dump_date"])
    if except_night is not None and labels.num_rows:
        own = pc.and_(pc.equal(labels["source"], "dump"),
                      pc.equal(labels["dump_date"], pa.scalar(except_night, pa.date32())))
        labels = labels.filter(pc.invert(own))
    known = set(pc.unique(labels["category"]).to_pylist())
    if with_champion:
        known |= set(champion_classes(lake))
    return frozenset(known)


def champion_classes(lake: Lake) -> list[str]:
    """The champion's classes from its artifact's JSON (no weights loaded); [] without one."""
    from catalog_ml.models.ensemble import CONFIG_FILE
    from catalog_ml.models.registry import artifact_relative, champion

    record = champion(lake)
    meta = None if record is None else f"{artifact_relative(record.version)}/{CONFIG_FILE}"
    if meta is None or not lake.file_exists(meta):
        return []
    try:
        classes = json.loads(lake.read_file(meta))["classes"]
    except (ValueError, KeyError, TypeError):
        return []
    return [c for c in classes if isinstance(c, str)]

