"""catalog_ml.lake.view_types: text filters on Parquet files that hold string views."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from catalog_ml.lake.view_types import is_view_kernel_error, read_filtering_text_late

SCHEMA = pa.schema([pa.field("product_id", pa.string()), pa.field("price", pa.float64())])


@pytest.fixture
def dataset(tmp_path) -> pds.Dataset:
    """Two files, one with views (as a delta-rs MERGE writes) and one plain, read as one
    dataset with the table's plain schema."""
    views = pa.table({"product_id": pa.array([f"v{i}" for i in range(50)], pa.string_view()),
                      "price": [float(i) for i in range(50)]})
    plain = pa.table({"product_id": [f"s{i}" for i in range(50)],
                      "price": [float(i) for i in range(50)]}, schema=SCHEMA)
    pq.write_table(views, tmp_path / "views.parquet", row_group_size=10)
    pq.write_table(plain, tmp_path / "plain.parquet")
    return pds.dataset([str(tmp_path / "views.parquet"), str(tmp_path / "plain.parquet")],
                       schema=SCHEMA, format="parquet")


def test_pyarrow_still_refuses_text_filters_on_view_files(dataset):
    """The premise: if a pyarrow upgrade brings the kernels, the late filter can go."""
    with pytest.raises(pa.ArrowNotImplementedError) as caught:
        dataset.to_table(filter=pc.field("product_id") == "v3")
    assert is_view_kernel_error(caught.value)
    assert not is_view_kernel_error(pa.ArrowNotImplementedError("no kernel for decimal"))
    assert not is_view_kernel_error(ValueError("string_view column is fine"))


def test_text_conditions_apply_after_the_cast_and_the_rest_in_the_scan(dataset):
    late = pc.field("product_id").isin(pa.array(["v3", "v40", "s7", "nope"]))
    table = read_filtering_text_late(dataset, ["price"], pc.field("price") < 10, late,
                                     {"product_id"})
    assert table.schema == pa.schema([SCHEMA.field("price")])
    assert sorted(table.column("price").to_pylist()) == [3.0, 7.0]
    whole = read_filtering_text_late(dataset, None, None, pc.field("product_id") == "v40",
                                     {"product_id"})
    assert whole.schema == SCHEMA and whole.to_pylist() == [{"product_id": "v40",
                                                             "price": 40.0}]
    none = read_filtering_text_late(dataset, None, None, pc.field("product_id") == "zz",
                                    {"product_id"})
    assert none.num_rows == 0 and none.schema == SCHEMA
