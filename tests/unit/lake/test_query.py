"""catalog_ml.lake.query: read-only SQL over the lake, through the real DuckDB."""

import datetime as dt

import pyarrow as pa
import pytest

from catalog_ml.lake import Lake
from catalog_ml.lake.query import QueryError, run_query
from catalog_ml.lake.tables import LABELS


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    with lake.writer("test"):
        lake.append("labels", pa.Table.from_pylist(
            [{"product_id": "a", "category": "X > Y", "source": "dump",
              "dump_date": dt.date(2026, 1, 1)}], schema=LABELS.schema))
    return lake


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
    ("COPY labels TO '{lake}/models/_delta_log/00000000000000000009.json'", "COPY statement"),
    ("ATTACH '/tmp/other.db'", "ATTACH statement"),
    ("CREATE TABLE x AS SELECT 1", "CREATE statement"),
    ("INSTALL httpfs", "statement is refused"),
    ("SET enable_external_access = true", "SET statement"),
    ("SELECT 1; SELECT 2", "exactly one statement, found 2"),
])
def test_query_is_read_only(lake, sql, message, tmp_path):
    before = sorted(p.name for p in (tmp_path / "lake" / "models" / "_delta_log").iterdir())
    with pytest.raises(QueryError, match=message):
        run_query(lake, sql.format(lake=lake.root))
    after = sorted(p.name for p in (tmp_path / "lake" / "models" / "_delta_log").iterdir())
    assert before == after
    assert not (tmp_path / "other.db").exists()


def test_query_reads_every_table_by_name(lake):
    assert run_query(lake, "SELECT count(*) AS n FROM labels").to_pylist() == [{"n": 1}]
    assert run_query(lake, "SELECT count(*) AS n FROM quarantine").to_pylist() == [{"n": 0}]
    assert run_query(lake, "WITH c AS (SELECT category FROM labels) SELECT * FROM c"
                     ).to_pylist() == [{"category": "X > Y"}]
    assert run_query(lake, "EXPLAIN SELECT * FROM labels").num_rows >= 1


def test_bad_sql_is_a_query_error_with_its_first_line(lake):
    with pytest.raises(QueryError, match="nope"):
        run_query(lake, "SELECT nope FROM labels")
    with pytest.raises(QueryError, match="not valid SQL"):
        run_query(lake, "SELEC 1")


def test_text_filters_work_on_merge_written_tables(tmp_path):
    """A MERGE's files hold string views, which pyarrow cannot compare: the query reruns
    with DuckDB filtering every row itself, and gives the rows."""
    lake = Lake(str(tmp_path / "lake"))
    rows = [{"product_id": f"p{i}", "category": f"X > Y{i % 3}", "source": "review",
             "dump_date": dt.date(2026, 1, 1 + i % 2)} for i in range(40)]
    with lake.writer("test"):
        lake.upsert("labels", pa.Table.from_pylist(rows[:1], schema=LABELS.schema))
        lake.upsert("labels", pa.Table.from_pylist(rows, schema=LABELS.schema))
    assert run_query(lake, "SELECT category FROM labels WHERE product_id = 'p4'"
                     ).to_pylist() == [{"category": "X > Y1"}]
    assert run_query(lake, "SELECT count(*) AS n FROM labels WHERE category = 'X > Y0' "
                           "AND dump_date = DATE '2026-01-01'").to_pylist() == [{"n": 7}]
    joined = run_query(lake, "SELECT count(*) AS n FROM labels a JOIN labels b "
                             "USING (product_id) WHERE b.category = 'X > Y2'")
    assert joined.to_pylist() == [{"n": 13}]
    with pytest.raises(QueryError, match="not found"):
        run_query(lake, "SELECT nope FROM labels WHERE product_id = 'p4'")
