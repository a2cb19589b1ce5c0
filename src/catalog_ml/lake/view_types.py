"""Filtered reads of tables whose Parquet files hold Arrow string views.

delta-rs writes a MERGE's files (``Lake.upsert``: products, labels, models,
model_comparisons) with ``string_view`` columns, recorded in each file's Arrow schema, so
pyarrow reads them back as views even though the table's schema says ``string``. pyarrow
(26) has no kernels to compare views: a filter on such a column pushed into the scan fails
("Function 'equal' has no kernel matching input types (string, string_view)"), for
``catalog-ml query "... WHERE product_id = 'x'"`` and for ``Lake.read(where=...)`` alike.
Reading the table whole works: the scan casts every batch to the table's schema.

So a filtered read that meets this error is done again with the text conditions applied
after that cast, batch by batch (memory holds only the matching rows); files written by
plain appends keep the pushed-down filter and its statistics pruning.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

VIEW_TYPE_NAMES = ("string_view", "binary_view")


def is_view_kernel_error(exc: BaseException) -> bool:
    """True for pyarrow's (or DuckDB's pyarrow scan's) missing kernel for a view type."""
    text = str(exc)
    return "no kernel matching input types" in text and any(
        name in text for name in VIEW_TYPE_NAMES)


def is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def conjunction(terms: list[pc.Expression]) -> pc.Expression | None:
    result = None
    for term in terms:
        result = term if result is None else result & term
    return result


def read_filtering_text_late(dataset: Any, columns: list[str] | None,
                             pushed: pc.Expression | None, late: pc.Expression,
                             late_columns: set[str]) -> pa.Table:
    """``dataset`` rows matching ``pushed`` (in the scan) and ``late`` (text conditions,
    after each batch is cast to the dataset's schema), with ``columns`` (all if None)."""
    wanted = list(dataset.schema.names) if columns is None else list(columns)
    read = wanted + sorted(late_columns - set(wanted))
    schema = pa.schema([dataset.schema.field(name) for name in read])
    parts = []
    for batch in dataset.scanner(columns=read, filter=pushed).to_batches():
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch]).cast(schema)
        parts.append(table.filter(late).select(wanted))
    if not parts:
        return pa.schema([schema.field(name) for name in wanted]).empty_table()
    return pa.concat_tables(parts)
