"""Read-only SQL over the lake's tables by name, with DuckDB reading each Delta snapshot
through Arrow.

``catalog-ml query`` is for looking, not for changing: the connection has no access to files
(no ``read_csv('/etc/passwd')``, no ``COPY ... TO`` into the lake, no ``ATTACH``, no
extensions), its configuration is locked, and only a single SELECT (or EXPLAIN) is run.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import duckdb
import pyarrow as pa

from catalog_ml.errors import ConfigError
from catalog_ml.lake import ALL_TABLES, Lake
from catalog_ml.lake.view_types import is_view_kernel_error

READ_ONLY_CONFIG = {"enable_external_access": False, "autoload_known_extensions": False,
                    "autoinstall_known_extensions": False, "allow_community_extensions": False}
ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")
# the optimizers that push filters into a table's scan (a WHERE, and a join's key range)
NO_PUSHDOWN = "filter_pushdown,join_filter_pushdown"

log = logging.getLogger(__name__)


class QueryError(ConfigError):
    """A statement that is refused or fails; the message says why."""


def connect(lake: Lake, pushdown: bool = True) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection with one view per table (empty where never written).

    Without ``pushdown`` DuckDB filters every row itself, none in pyarrow's scan: slower
    (no partition pruning), but it reads files with string views (``view_types``)."""
    connection = duckdb.connect(config=dict(READ_ONLY_CONFIG))
    if not pushdown:
        connection.execute(f"SET disabled_optimizers = '{NO_PUSHDOWN}'")
    for name, spec in ALL_TABLES.items():
        table = lake.table_or_none(name)
        source: Any = (lake.dataset(table) if table is not None
                       else spec.schema.empty_table())
        connection.register(name, source)
    connection.execute("SET lock_configuration = true")
    return connection


def check_statement(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    """One SELECT or EXPLAIN; anything else is refused before it runs."""
    try:
        statements = connection.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"query is not valid SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError(f"query must be exactly one statement, found {len(statements)}")
    kind = statements[0].type.name
    if kind not in ALLOWED_STATEMENTS:
        raise QueryError(f"query is read-only: a {kind} statement is refused (only SELECT, "
                         "WITH ... SELECT and EXPLAIN run)")


def run_query(lake: Lake, sql: str) -> pa.Table:
    """The statement's result; with filters kept out of the scan where a table's string-view
    files made pyarrow refuse one (the statement is read-only, so running it again is safe)."""
    try:
        return _run(lake, sql, pushdown=True)
    except duckdb.Error as exc:
        if not is_view_kernel_error(exc):
            raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None
    log.debug("query: filters kept out of the scan (string-view files)")
    try:
        return _run(lake, sql, pushdown=False)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).splitlines()[0]}") from None


def _run(lake: Lake, sql: str, pushdown: bool) -> pa.Table:
    connection = connect(lake, pushdown)
    try:
        check_statement(connection, sql)
        result = connection.sql(sql)
        if result is None:
            raise QueryError("query returned no result set")
        return result.to_arrow_table()
    finally:
        connection.close()


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
