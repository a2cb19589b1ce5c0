"""catalog_ml.lake.store: atomic slices, upserts and time travel on real delta-rs tables."""

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS, PRODUCTS, QUARANTINE

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


def test_partition_values_lists_the_nights_that_hold_rows_from_the_log(tmp_path):
    lake = Lake(str(tmp_path))
    assert lake.partition_values("quarantine", "dump_date") == []
    lake.replace_slice("quarantine", quarantine_rows(D2, 2), {"dump_date": D2})
    lake.replace_slice("quarantine", quarantine_rows(D1, 3), {"dump_date": D1})
    assert lake.partition_values("quarantine", "dump_date") == [D1, D2]
    lake.replace_slice("quarantine", quarantine_rows(D2, 0), {"dump_date": D2})
    assert lake.partition_values("quarantine", "dump_date") == [D1]


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


def test_read_filters_by_a_value_or_by_any_of_a_collection(tmp_path):
    lake = Lake(str(tmp_path))
    lake.upsert("products", pa.Table.from_pylist(
        [product(p, p.upper(), D1 if p != "c" else D2) for p in "abcd"], schema=PRODUCTS.schema))

    def ids(**where) -> list[str]:
        return sorted(lake.read("products", where=where).column("product_id").to_pylist())

    assert ids(product_id={"a", "c", "zz"}) == ["a", "c"]
    assert ids(product_id=["b"], dump_date=D1) == ["b"]
    assert ids(product_id={"a", "c"}, dump_date=D1) == ["a"]
    assert ids(product_id=set()) == []
    assert ids(dump_date=D2) == ["c"]


def merged_products(tmp_path) -> Lake:
    """A products table whose file a MERGE wrote: delta-rs stores its text as string views."""
    lake = Lake(str(tmp_path))
    lake.upsert("products", pa.Table.from_pylist([product("a", "A", D1)],
                                                  schema=PRODUCTS.schema))
    lake.upsert("products", pa.Table.from_pylist(
        [product(f"p{i:03d}", f"T{i}", D1 if i % 2 else D2) for i in range(100)],
        schema=PRODUCTS.schema))
    return lake


def test_merge_written_files_hold_string_views(tmp_path):
    """The premise of ``view_types``: if delta-rs stops writing views, this says so."""
    import pyarrow.parquet as pq

    lake = merged_products(tmp_path)
    kinds = {str(pq.read_schema(uri).field("product_id").type)
             for uri in DeltaTable(lake.path("products")).file_uris()}
    assert "string_view" in kinds


@pytest.mark.parametrize("wanted", [{"p007"}, {"p001", "p002", "zz"}, {f"p{i:03d}" for i in
                                                                      range(0, 100, 3)}])
def test_read_filters_text_on_merge_written_files(tmp_path, wanted):
    lake = merged_products(tmp_path)
    table = lake.read("products", where={"product_id": wanted})
    assert sorted(table.column("product_id").to_pylist()) == sorted(wanted - {"zz"})
    assert table.schema == PRODUCTS.schema
    one = lake.read("products", where={"product_id": "p007", "dump_date": D1},
                    columns=["title"])
    assert one.to_pylist() == [{"title": "T7"}]
    assert lake.read("products", where={"product_id": "p008", "dump_date": D1}).num_rows == 0
    assert lake.read("products", where={"title": "T9", "content_hash": "T9"},
                     columns=["product_id"]).column(0).to_pylist() == ["p009"]


def test_reading_a_table_that_does_not_exist_gives_an_empty_table(tmp_path):
    table = Lake(str(tmp_path)).read("labels")
    assert table.num_rows == 0 and table.schema == LABELS.schema


def test_unknown_table_name_is_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown table"):
        Lake(str(tmp_path)).path("product")


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
