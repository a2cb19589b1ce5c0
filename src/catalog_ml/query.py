"""SQL over the lake's tables by name, with DuckDB reading each Delta snapshot through Arrow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from catalog_ml.lake import ALL_TABLES, Lake


def connect(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per existing table (empty tables for the others)."""
    connection = duckdb.connect()
    for name, spec in ALL_TABLES.items():
        source: Any = (lake.table(name).to_pyarrow_dataset() if lake.exists(name)
                       else spec.schema.empty_table())
        connection.register(name, source)
    return connection


def run_query(lake: Lake, sql: str) -> pa.Table:
    connection = connect(lake)
    try:
        return connection.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from exc
    finally:
        connection.close()


class QueryError(ValueError):
    pass


def night_summary(lake: Lake, night: dt.date) -> dict[str, Any]:
    """The figures a person checks in the morning: nothing lost, how sure the model was."""
    day = night.isoformat()
    counts = run_query(lake, f"""
        SELECT
          (SELECT count(*) FROM quarantine WHERE dump_date = DATE '{day}') AS quarantined,
          (SELECT count(*) FROM product_snapshots WHERE dump_date = DATE '{day}') AS accepted,
          (SELECT count(*) FROM classifications WHERE run_date = DATE '{day}') AS classified,
          (SELECT avg(CAST(needs_review AS INT)) FROM classifications
             WHERE run_date = DATE '{day}') AS needs_review_share,
          (SELECT avg(confidence) FROM classifications WHERE run_date = DATE '{day}')
             AS mean_confidence
    """).to_pylist()[0]
    return counts
