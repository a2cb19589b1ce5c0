"""catalog_ml.pipeline.embed_batches: one batch of products to vectors, nulls kept."""

import numpy as np
import pandas as pd
import pytest

from catalog_ml.config import load_settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake.tables import VECTOR
from catalog_ml.pipeline.embed_batches import embed_batch, embed_rows, vector_array, worker_encoders


def test_vector_array_keeps_nulls_and_values_in_place():
    array = vector_array([np.array([1.0, 2.0]), None, np.array([3.0])])
    assert array.type == VECTOR
    assert array.to_pylist() == [[1.0, 2.0], None, [3.0]]
    assert vector_array([None, None]).to_pylist() == [None, None]


@pytest.mark.slow
def test_a_batch_gives_one_normalised_text_vector_per_product_and_a_status_per_photo():
    spec = EncoderSpec.from_settings(load_settings()).to_json()
    frame = embed_batch(worker_encoders(spec, 1, {}), pd.Series(["Red dress", "Red dress"]),
                        pd.Series([None, "Acme"]), pd.Series([None, None]),
                        pd.Series([None, "file:///nowhere/gone.jpg"]))
    assert len(frame) == 2
    norms = [float(np.linalg.norm(v)) for v in frame["text_vector"]]
    assert norms == pytest.approx([1.0, 1.0], abs=1e-4)
    assert not np.allclose(frame["text_vector"][0], frame["text_vector"][1])  # brand counts
    assert frame["image_vector"].isna().all()
    assert frame["image_status"][0] != frame["image_status"][1]


@pytest.mark.slow
def test_embed_rows_gives_the_columns_the_embeddings_table_stores():
    from catalog_ml.lake.tables import EMBEDDINGS

    spec = EncoderSpec.from_settings(load_settings()).to_json()
    rows = pd.DataFrame({"title": ["Red dress"], "brand": [None], "description": [None],
                         "image_uri": [None]})
    table = embed_rows(worker_encoders(spec, 1, {}), rows)
    stored = EMBEDDINGS.schema
    assert table.column_names == ["text_vector", "image_vector", "image_status"]
    for name in table.column_names:
        assert table.schema.field(name).type == stored.field(name).type, name
    assert table["image_vector"].null_count == 1 and len(table["text_vector"][0]) == 384
