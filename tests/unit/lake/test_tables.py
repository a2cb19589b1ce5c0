"""catalog_ml.lake.tables: the tables' schemas, conformance and schema growth."""

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS, conform

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def test_conform_names_a_missing_required_column():
    with pytest.raises(ValueError, match="'category'"):
        conform(pa.table({"product_id": ["a"]}), LABELS)


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
