"""catalog_ml.pipeline.embed_batches: one batch of products to vectors, nulls kept."""

import numpy as np
import pandas as pd
import pytest

from catalog_ml.config import load_settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake.tables import VECTOR
from catalog_ml.pipeline.embed_batches import embed_batch, vector_array, worker_encoders


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
