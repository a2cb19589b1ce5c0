"""The lake's taxonomy: the categories its labels already use.

Labels of the dump and of reviews are checked against it (``catalog_ml.taxonomy``). A night's
own dump labels are left out when that night is validated again, so a rerun of the night that
founded the taxonomy accepts what it accepted the first time.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from catalog_ml.lake import Lake


def known_categories(lake: Lake, except_night: dt.date | None = None) -> frozenset[str]:
    labels = lake.read("labels", columns=["category", "source", "dump_date"])
    if except_night is not None and labels.num_rows:
        own = pc.and_(pc.equal(labels["source"], "dump"),
                      pc.equal(labels["dump_date"], pa.scalar(except_night, pa.date32())))
        labels = labels.filter(pc.invert(own))
    return frozenset(pc.unique(labels["category"]).to_pylist())

