"""catalog_ml.lake on real delta-rs tables in a temporary folder."""

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS, PRODUCTS, QUARANTINE, conform

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def quarantine_rows(night: dt.date, n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"dump_date": night, "source_row": i, "product_id": f"p{i}", "reasons": ["title: x"],
          "raw_record": "{}"} for i in range(n)], schema=QUARANTINE.schema)


def test_replace_slice_touches_only_that_night(tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_slice("quarantine", quarantine_rows(D1, 3), {"dump_date": D1})
    lake.replace_slice("quarantine", quarantine_rows(D2, 2), {"dump_date": D2})
    lake.replace_slice("quarantine", quarantine_rows(D1, 1), {"dump_date": D1})
    assert lake.read("quarantine", where={"dump_date": D1}).num_rows == 1
    assert lake.read("quarantine", where={"dump_date": D2}).num_rows == 2
    assert DeltaTable(lake.path("quarantine")).version() == 2  # one commit per write


def test_replacing_with_nothing_empties_the_slice(tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_slice("quarantine", quarantine_rows(D1, 3), {"dump_date": D1})
    lake.replace_slice("quarantine", quarantine_rows(D1, 0), {"dump_date": D1})
    assert lake.read("quarantine").num_rows == 0


def test_replace_slice_refuses_rows_outside_the_slice(tmp_path):
    lake = Lake(str(tmp_path))
    with pytest.raises(ValueError, match="outside the slice"):
        lake.replace_slice("quarantine", quarantine_rows(D2, 1), {"dump_date": D1})


def test_idempotency_key_makes_a_retried_append_a_no_op(tmp_path):
    lake = Lake(str(tmp_path))
    assert lake.append("quarantine", quarantine_rows(D1, 2), idempotency_key="night-1")
    assert not lake.append("quarantine", quarantine_rows(D1, 2), idempotency_key="night-1")
    assert lake.read("quarantine").num_rows == 2
    assert lake.append("quarantine", quarantine_rows(D2, 2), idempotency_key="night-2")


def product(pid: str, title: str, night: dt.date) -> dict:
    return {"product_id": pid, "title": title, "content_hash": title, "first_seen": night,
            "last_seen": night, "dump_date": night}


def test_upsert_inserts_and_updates_in_one_commit(tmp_path):
    lake = Lake(str(tmp_path))
    lake.upsert("products", pa.Table.from_pylist([product("a", "A1", D1)],
                                                  schema=PRODUCTS.schema))
    result = lake.upsert("products", pa.Table.from_pylist(
        [product("a", "A2", D2), product("b", "B", D2)], schema=PRODUCTS.schema))
    rows = {r["product_id"]: r for r in lake.read("products").to_pylist()}
    assert rows["a"]["title"] == "A2" and rows["b"]["title"] == "B"
    assert result["num_target_rows_inserted"] == 1
    assert result["num_target_rows_updated"] == 1


def test_upsert_refuses_repeated_keys(tmp_path):
    lake = Lake(str(tmp_path))
    with pytest.raises(ValueError, match="repeat a key"):
        lake.upsert("products", pa.Table.from_pylist(
            [product("a", "x", D1), product("a", "y", D1)], schema=PRODUCTS.schema))


def test_time_travel_reads_an_older_version(tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_slice("quarantine", quarantine_rows(D1, 3), {"dump_date": D1})
    lake.replace_slice("quarantine", quarantine_rows(D1, 1), {"dump_date": D1})
    assert lake.read("quarantine", version=0).num_rows == 3


def test_reading_a_table_that_does_not_exist_gives_an_empty_table(tmp_path):
    table = Lake(str(tmp_path)).read("labels")
    assert table.num_rows == 0 and table.schema == LABELS.schema


def test_conform_names_a_missing_required_column():
    with pytest.raises(ValueError, match="'category'"):
        conform(pa.table({"product_id": ["a"]}), LABELS)


def test_unknown_table_name_is_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown table"):
        Lake(str(tmp_path)).path("product")


def _hold_lock(root: str, seconds: float):
    """A second process holding the lake's writer lock, as another night would."""
    import subprocess
    import sys
    import time

    code = ("import sys, time\nfrom catalog_ml.lake import Lake\n"
            f"with Lake({root!r}).writer('the other night'):\n"
            f"    print('held', flush=True)\n    time.sleep({seconds})\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    time.sleep(0.1)
    return holder


def test_a_second_writer_waits_then_fails_with_a_retryable_error_naming_the_holder(tmp_path):
    from catalog_ml.errors import ConflictError

    holder = _hold_lock(str(tmp_path), 30)
    try:
        with (pytest.raises(ConflictError, match=rf"pid {holder.pid} .*the other night.*"
                                                 "lake_lock_timeout_s"),
              Lake(str(tmp_path), lock_timeout_s=0.5).writer("me")):
            pass
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait()
    with Lake(str(tmp_path), lock_timeout_s=2).writer("me") as lake:
        assert lake.exists("quarantine")


def test_a_writer_waits_for_the_other_to_finish(tmp_path):
    import time

    holder = _hold_lock(str(tmp_path), 1.5)
    started = time.monotonic()
    with Lake(str(tmp_path), lock_timeout_s=30).writer("me"):
        waited = time.monotonic() - started
    holder.wait()
    assert holder.returncode == 0 and waited >= 1.0


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    lake = Lake(str(tmp_path), lock_timeout_s=0.2)
    with lake.writer("night"), lake.writer("a step of it"):
        lake.append("quarantine", quarantine_rows(D1, 1))
    assert lake.read("quarantine").num_rows == 1


def test_every_table_exists_with_its_schema_after_the_first_write(tmp_path):
    import duckdb

    from catalog_ml.lake import ALL_TABLES

    lake = Lake(str(tmp_path / "lake"))
    assert not lake.initialised()
    with lake.writer("first night"):
        pass
    for name, spec in ALL_TABLES.items():
        table = DeltaTable(lake.path(name))
        assert pa.schema(table.schema().to_arrow()) == spec.schema, name
        assert table.metadata().partition_columns == list(spec.partition_by)
        assert duckdb.from_arrow(table.to_pyarrow_dataset()).count("*").fetchone()[0] == 0


def test_a_lake_path_that_is_a_file_or_holds_no_lake_is_a_clear_error(tmp_path):
    from catalog_ml.errors import ConfigError, LakeNotFoundError

    (tmp_path / "file").write_text("not a lake")
    with pytest.raises(ConfigError, match="is a file, not a folder"), \
            Lake(str(tmp_path / "file")).writer("x"):
        pass
    with pytest.raises(LakeNotFoundError, match=r"no catalog-ml lake at .*typo"):
        Lake(str(tmp_path / "typo")).require()
    assert not (tmp_path / "typo").exists()  # looking does not create


def test_a_lost_commit_race_is_a_retryable_conflict_not_a_bug(tmp_path):
    """Two writers that read the same version and both delete the same rows: delta-rs refuses
    the second commit, and catalog-ml reports it as exit 75 ("retry later")."""
    from deltalake import DeltaTable, write_deltalake

    from catalog_ml.errors import ConflictError, translate

    write_deltalake(str(tmp_path / "t"), pa.table({"x": [1, 2, 3]}))
    first, second = DeltaTable(str(tmp_path / "t")), DeltaTable(str(tmp_path / "t"))
    first.delete("x = 1")
    with pytest.raises(Exception) as lost:
        second.delete("x = 1")
    error = translate(lost.value)
    assert isinstance(error, ConflictError) and error.exit_code == 75
    assert "rerun" in str(error)
    assert sorted(DeltaTable(str(tmp_path / "t")).to_pyarrow_table()["x"].to_pylist()) == [2, 3]


def test_a_table_written_by_an_older_version_gains_the_new_columns(tmp_path):
    """A lake made before ``classifications.decided_by`` existed keeps its rows and takes
    rows with the column (one schema commit when a writer opens the lake)."""
    from deltalake import write_deltalake

    from catalog_ml.lake.tables import CLASSIFICATIONS

    old = pa.schema([f for f in CLASSIFICATIONS.schema if f.name != "decided_by"])
    row = {"run_date": dt.date(2026, 11, 1), "product_id": "p", "content_hash": "h",
           "category": "A > B", "confidence": 0.9, "top_k": [], "model_version": "v",
           "needs_review": False, "modality_weights": {"text": 1.0, "image": 0.0, "price": 0.0},
           "classified_at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)}
    write_deltalake(str(tmp_path / "classifications"), pa.Table.from_pylist([row], schema=old),
                    partition_by=["run_date"])
    lake = Lake(str(tmp_path))
    with lake.writer("upgrade"):
        pass
    assert "decided_by" in DeltaTable(lake.path("classifications")).schema().to_arrow().names
    assert lake.read("classifications").to_pylist()[0]["decided_by"] is None
    lake.append("classifications", pa.Table.from_pylist(
        [{**row, "product_id": "q", "decided_by": "rule-1"}], schema=CLASSIFICATIONS.schema))
    assert sorted(map(str, lake.read("classifications").column("decided_by").to_pylist())) == [
        "None", "rule-1"]
