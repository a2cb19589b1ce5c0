"""catalog_ml.pipeline.vectors: only the asked products' vectors are read."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import EMBEDDINGS
from catalog_ml.pipeline.vectors import attach_vectors, stored_vectors


def _embeddings(lake: Lake) -> None:
    rows = [{"product_id": f"p{i}", "content_hash": f"h{i}", "encoder_version": version,
             "text_vector": [float(i), 1.0], "image_vector": None}
            for i in range(4) for version in ("enc-a", "enc-b")]
    rows.append({**rows[0], "text_vector": [0.0, 1.0]})  # a repeated key (a rerun's leftover)
    lake.append("embeddings", pa.Table.from_pylist(rows, schema=EMBEDDINGS.schema))


def test_stored_vectors_reads_only_the_hashes_and_version_asked_for(tmp_path):
    lake = Lake(str(tmp_path))
    _embeddings(lake)
    found = stored_vectors(lake, ["h1", "h3", "h9"], "enc-b")
    assert sorted(found.column("product_id").to_pylist()) == ["p1", "p3"]
    assert found.column_names == ["product_id", "content_hash", "text_vector", "image_vector"]
    assert stored_vectors(lake, [], "enc-b").num_rows == 0
    assert stored_vectors(Lake(str(tmp_path / "empty")), ["h1"], "enc-b").num_rows == 0


def test_attach_vectors_keeps_the_frames_rows_with_one_vector_each(tmp_path):
    lake = Lake(str(tmp_path))
    _embeddings(lake)
    frame = pd.DataFrame({"product_id": ["p0", "p2", "p7"], "content_hash": ["h0", "h2", "h7"],
                          "category": ["A", "B", "C"]})
    joined = attach_vectors(lake, frame, "enc-a")
    assert joined["product_id"].tolist() == ["p0", "p2"]  # p7 has none; p0 once
    assert list(joined["text_vector"].iloc[1]) == [2.0, 1.0]


def test_without_vectors_leaves_out_what_is_stored_and_repeats(tmp_path):
    from catalog_ml.pipeline.vectors import without_vectors

    lake = Lake(str(tmp_path))
    _embeddings(lake)
    rows = pa.table({"product_id": ["p1", "p1", "p2", "p9"],
                     "content_hash": ["h1", "h1", "h2-new", "h9"],
                     "title": ["one", "one", "two", "nine"],
                     "brand": pa.array([None] * 4, pa.string())})  # all empty: still joins
    todo = without_vectors(lake, rows, "enc-a")
    assert sorted(todo.column("product_id").to_pylist()) == ["p2", "p9"]  # p1 has vectors
    assert without_vectors(lake, rows, "enc-new").num_rows == 3  # other encoders: all new
