"""catalog_ml.lake.file_stats: statistics for files Spark's tasks write, in the form delta-rs
reads without skipping files that hold the rows a filter asks for."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.schema import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions

from catalog_ml.lake.file_stats import delta_stats

MOMENT = dt.datetime(2026, 12, 2, 6, 14, 32, 123456, tzinfo=dt.UTC)


def _table_of(tmp_path, data: pa.Table) -> tuple[DeltaTable, dict]:
    """A Delta table of one file written by pyarrow, with delta_stats in its add action."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, tmp_path / "part-0.parquet")
    stats = delta_stats(pq.read_metadata(tmp_path / "part-0.parquet"))
    add = AddAction(path="part-0.parquet", size=(tmp_path / "part-0.parquet").stat().st_size,
                    partition_values={}, modification_time=0, data_change=True, stats=stats)
    create_table_with_add_actions(str(tmp_path), DeltaSchema.from_arrow(data.schema), [add],
                                  mode="append")
    return DeltaTable(str(tmp_path)), json.loads(stats)


def test_every_flat_column_has_min_and_max_so_no_filter_skips_the_file(tmp_path):
    data = pa.table({
        "day": pa.array([dt.date(2026, 11, 2)] * 2, pa.date32()),
        "at": pa.array([MOMENT, MOMENT + dt.timedelta(microseconds=1)], pa.timestamp("us", "UTC")),
        "flag": [True, False], "n": [1, 2], "price": [9.5, 12.0], "name": ["a", "b"],
        "nothing": pa.array([None, None], pa.string()),
        "vector": pa.array([[0.5], None], pa.list_(pa.float32())),
        # two leaf columns in the file for one field: the columns after it must still match
        "top": pa.array([[{"label": "x", "p": 0.9}], []],
                        pa.list_(pa.struct([("label", pa.string()), ("p", pa.float64())]))),
        "later": pa.array([MOMENT, MOMENT], pa.timestamp("us", "UTC")),
    })
    table, stats = _table_of(tmp_path, data)
    assert stats["minValues"]["day"] == "2026-11-02"
    assert stats["minValues"]["at"] == "2026-12-02T06:14:32.123Z"  # rounded down
    assert stats["maxValues"]["at"] == "2026-12-02T06:14:32.124Z"  # and up: both rows inside
    assert stats["nullCount"]["nothing"] == 2 and "nothing" not in stats["minValues"]
    assert "vector" not in stats["nullCount"] and "top" not in stats["nullCount"]
    assert (stats["minValues"]["later"], stats["maxValues"]["later"]) == (
        "2026-12-02T06:14:32.123Z", "2026-12-02T06:14:32.124Z")
    dataset = table.to_pyarrow_dataset()
    wanted = {
        "day": pc.field("day") == dt.date(2026, 11, 2),
        "at": pc.field("at") == pa.scalar(MOMENT, pa.timestamp("us", "UTC")),
        "flag": pc.field("flag") == True,  # noqa: E712 - an Arrow expression, not a bool
        "n": pc.field("n") == 2, "price": pc.field("price") > 10, "name": pc.field("name") == "a",
        "nothing": pc.field("nothing").is_null(),
    }
    counts = {name: dataset.to_table(filter=expression).num_rows
              for name, expression in wanted.items()}
    assert counts == {"day": 2, "at": 1, "flag": 1, "n": 1, "price": 1, "name": 1, "nothing": 2}
    assert dataset.to_table(filter=pc.field("day") == dt.date(2026, 11, 3)).num_rows == 0


def test_a_column_without_usable_min_max_leaves_the_file_with_its_row_count_only(tmp_path):
    for odd in (pa.array([float("inf"), 1.0]), pa.array([b"\x00", b"\x01"])):  # no JSON form
        folder = tmp_path / str(odd.type)
        data = pa.table({"odd": odd, "day": pa.array([dt.date(2026, 11, 2)] * 2)})
        table, stats = _table_of(folder, data)
        assert stats == {"numRecords": 2}
        dataset = table.to_pyarrow_dataset()
        assert dataset.to_table(filter=pc.field("day") == dt.date(2026, 11, 2)).num_rows == 2


def test_nanosecond_timestamps_round_outwards_to_the_millisecond(tmp_path):
    moment = pa.scalar(MOMENT, pa.timestamp("us", "UTC")).cast(pa.timestamp("ns", "UTC"))
    pq.write_table(pa.table({"at": pa.array([moment.value + 7], pa.timestamp("ns", "UTC"))}),
                   tmp_path / "ns.parquet")
    stats = json.loads(delta_stats(pq.read_metadata(tmp_path / "ns.parquet")))
    assert (stats["minValues"]["at"], stats["maxValues"]["at"]) == (
        "2026-12-02T06:14:32.123Z", "2026-12-02T06:14:32.124Z")
