"""The Spark <-> Delta bridge on its own: snapshot reads, one-commit writes, slice replacement.

Each test runs twice: with Spark's own Parquet reader and writer (local lakes) and with the
pyarrow reader and writer inside the tasks (object stores, no Hadoop jars)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from catalog_ml.lake import Lake
from catalog_ml.lake.query import run_query
from catalog_ml.lake.spark_bridge import read_table, write_table
from catalog_ml.lake.tables import QUARANTINE

pytestmark = pytest.mark.spark
D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


@pytest.fixture(params=["spark", "arrow"])
def io(request) -> str:
    return request.param


def rows(night: dt.date, n: int, tag: str = "") -> list[dict]:
    return [{"dump_date": night, "source_row": i, "product_id": f"p{i}{tag}",
             "reasons": [f"title: r{i}"], "raw_record": "{}"} for i in range(n)]


def test_read_takes_partition_values_from_the_log_with_their_types(spark, tmp_path, io):
    lake = Lake(str(tmp_path), spark_io=io)
    lake.append("quarantine", pa.Table.from_pylist(rows(D1, 3) + rows(D2, 2),
                                                   schema=QUARANTINE.schema))
    frame = read_table(spark, lake, "quarantine")
    assert dict(frame.dtypes)["dump_date"] == "date"
    assert frame.count() == 5
    only = read_table(spark, lake, "quarantine", where={"dump_date": D2})
    assert sorted(r.product_id for r in only.collect()) == ["p0", "p1"]
    assert only.first().reasons[0].startswith("title:")


def test_write_replaces_a_slice_in_one_commit_and_retries_are_no_ops(spark, tmp_path, io):
    lake = Lake(str(tmp_path), spark_io=io)
    lake.append("quarantine", pa.Table.from_pylist(rows(D1, 3) + rows(D2, 2),
                                                   schema=QUARANTINE.schema))
    version = lake.version("quarantine")
    replacement = spark.createDataFrame(rows(D1, 4, tag="-new"), schema=read_table(
        spark, lake, "quarantine").schema)
    assert write_table(replacement, lake, "quarantine", replace={"dump_date": D1},
                       idempotency_key="q-2026-11-01") == 4
    assert lake.version("quarantine") == version + 1
    assert write_table(replacement, lake, "quarantine", replace={"dump_date": D1},
                       idempotency_key="q-2026-11-01") == 0
    table = lake.read("quarantine").to_pylist()
    assert sorted(r["product_id"] for r in table if r["dump_date"] == D1) == [
        "p0-new", "p1-new", "p2-new", "p3-new"]
    assert len([r for r in table if r["dump_date"] == D2]) == 2
    assert lake.read("quarantine", version=version).num_rows == 5  # time travel still works


def test_write_creates_the_table_with_file_statistics(spark, tmp_path, io):
    lake = Lake(str(tmp_path), spark_io=io)
    frame = spark.createDataFrame(
        [("p1", "h", "enc", [0.5, 1.0], None, "none", D1)],
        "product_id string, content_hash string, encoder_version string, "
        "text_vector array<float>, image_vector array<float>, image_status string, "
        "dump_date date").withColumn("embedded_at", F.current_timestamp())
    assert write_table(frame, lake, "embeddings") == 1
    actions = pa.table(DeltaTable(lake.path("embeddings")).get_add_actions(flatten=True))
    assert actions.column("num_records").to_pylist() == [1]
    stored = lake.read("embeddings").to_pylist()[0]
    assert stored["text_vector"] == [0.5, 1.0] and stored["image_vector"] is None
    log = (tmp_path / "embeddings" / "_delta_log" / "00000000000000000000.json").read_text()
    add = next(json.loads(line)["add"] for line in log.splitlines() if '"add"' in line)
    stats = json.loads(add["stats"])
    assert stats["numRecords"] == 1 and stats["minValues"]["dump_date"] == D1.isoformat()
    # a filter on any column finds the row: delta-rs skipped a file whose log named a column's
    # null count but not its min/max, so `WHERE dump_date = ...` once found nothing
    embedded_at = stored["embedded_at"]
    for where in ({"dump_date": D1}, {"embedded_at": embedded_at}, {"image_status": "none"}):
        assert lake.read("embeddings", where=where, columns=["product_id"]).num_rows == 1, where
    assert lake.read("embeddings", where={"dump_date": D2}, columns=["product_id"]).num_rows == 0
    found = run_query(lake, f"SELECT count(*) AS n FROM embeddings WHERE dump_date = "
                            f"DATE '{D1}' AND embedded_at <= TIMESTAMPTZ '{embedded_at}'")
    assert found.to_pylist() == [{"n": 1}]


def test_partitioned_tables_are_written_one_slice_at_a_time(spark, tmp_path, io):
    lake = Lake(str(tmp_path), spark_io=io)
    frame = spark.createDataFrame(rows(D1, 1), schema="dump_date date, source_row long, "
                                  "product_id string, reasons array<string>, raw_record string")
    with pytest.raises(ValueError, match="one slice at a time"):
        write_table(frame, lake, "quarantine")
