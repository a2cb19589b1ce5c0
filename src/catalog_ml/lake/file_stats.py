"""Delta file statistics for a Parquet file written outside delta-rs (Spark's tasks), read
from the file's footer.

delta-rs turns a file's statistics into a pyarrow expression that skips files, and it reads a
column named in ``nullCount`` but missing from ``minValues`` / ``maxValues`` as "min and max
are null": every filter on that column then skips the file. Files written this way once had no
min/max for dates, timestamps and booleans, and ``WHERE dump_date = ...`` or ``needs_review``
found none of their rows. So every flat column gets all three, in the form delta-rs writes
itself (dates ``YYYY-MM-DD``, timestamps ISO-8601 in UTC to the millisecond, min rounded
down and max up); where one column cannot, the file gets only its row count, which skips
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_EPOCH = dt.datetime(1970, 1, 1)
_NANOS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


class _NoStatistics(Exception):
    """A column whose min/max cannot be written: the file goes without statistics."""


def delta_stats(metadata: pq.FileMetaData) -> str:
    """The ``stats`` JSON of a Delta add action for the file this footer describes."""
    rows = metadata.num_rows
    try:
        nulls, lows, highs = _column_stats(metadata)
    except _NoStatistics:
        return json.dumps({"numRecords": rows})
    return json.dumps({"numRecords": rows, "nullCount": nulls, "minValues": lows,
                       "maxValues": highs})


def _column_stats(metadata: pq.FileMetaData
                  ) -> tuple[dict[str, int], dict[str, Any], dict[str, Any]]:
    nulls: dict[str, int] = {}
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    # row groups index leaf columns: a list of structs before a column holds several of them
    flat = {f.name: f for f in metadata.schema.to_arrow_schema()
            if not pa.types.is_nested(f.type)}  # delta-rs keeps no statistics for nested ones
    for index in range(metadata.num_columns):
        field = flat.get(metadata.schema.column(index).path)
        if field is None:
            continue
        count, values = 0, []
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(index).statistics
            if statistics is None or statistics.null_count is None:
                raise _NoStatistics(field.name)
            count += statistics.null_count
            if statistics.has_min_max:
                values.append((statistics.min, statistics.max))
        nulls[field.name] = count
        if count == metadata.num_rows:  # only nulls: no min/max, as delta-rs writes it
            continue
        if not values:
            raise _NoStatistics(field.name)
        lows[field.name] = _json_value(min(v[0] for v in values), field.type, upper=False)
        highs[field.name] = _json_value(max(v[1] for v in values), field.type, upper=True)
    return nulls, lows, highs


def _json_value(value: Any, kind: pa.DataType, upper: bool) -> Any:
    """A min or max in Delta's JSON form; a timestamp rounded outwards to the millisecond."""
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_string(kind):
        return value
    if pa.types.is_floating(kind) and math.isfinite(value):
        return value
    if pa.types.is_date(kind):
        return pa.scalar(value, kind).cast(pa.date32()).as_py().isoformat()
    if pa.types.is_timestamp(kind):
        nanos = pa.scalar(value, kind).value * _NANOS_PER[kind.unit]  # since the epoch
        ms, rest = divmod(nanos, 1_000_000)
        moment = _EPOCH + dt.timedelta(milliseconds=ms + (1 if upper and rest else 0))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    raise _NoStatistics(str(kind))
