"""One batch of products to vectors: what a Spark worker, the driver and the warm encoder
process (``warm_encoders``) all run, so the three give the same vectors."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake.tables import VECTOR


def worker_encoders(spec_json: str, parallel_tasks: int, storage_options: dict[str, str]) -> Any:
    """The worker's encoders: loaded on first use, then cached for the worker's lifetime."""
    from catalog_ml.features.encoders import cached_encoders
    from catalog_ml.features.runtime import set_threads

    set_threads(parallel_tasks)
    return cached_encoders(EncoderSpec(**json.loads(spec_json)), storage_options)


def embed_batch(encoders: Any, titles: pd.Series, brands: pd.Series, descriptions: pd.Series,
                uris: pd.Series) -> pd.DataFrame:
    """One batch's vectors and photo statuses: the Spark UDF and the driver path alike."""
    from catalog_ml.features.text import product_text

    texts = [product_text(t, b, d) for t, b, d in zip(
        titles, brands.where(brands.notna(), None),
        descriptions.where(descriptions.notna(), None), strict=True)]
    images, statuses = encoders.encode_images([u if isinstance(u, str) else None for u in uris])
    return pd.DataFrame({"text_vector": list(encoders.encode_text(texts)),
                         "image_vector": images, "image_status": statuses})


def embed_rows(encoders: Any, rows: pd.DataFrame) -> pa.Table:
    """``embed_batch`` for rows (title, brand, description, image_uri) as the Arrow columns
    the embeddings table stores: what the driver commits and the warm process sends back."""
    vectors = embed_batch(encoders, rows["title"], rows["brand"], rows["description"],
                          rows["image_uri"])
    return pa.table({"text_vector": vector_array(list(vectors["text_vector"])),
                     "image_vector": vector_array(list(vectors["image_vector"])),
                     "image_status": pa.array(vectors["image_status"].tolist(), pa.string())})


def vector_array(vectors: list[np.ndarray | None]) -> pa.Array:
    """list<float32> from numpy vectors (None: a null), without a Python float per value."""
    lengths = np.array([0 if v is None else len(v) for v in vectors], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    present = [np.asarray(v, dtype=np.float32) for v in vectors if v is not None]
    values = np.concatenate(present) if present else np.zeros(0, np.float32)
    mask = pa.array([v is None for v in vectors], pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), type=VECTOR, mask=mask)
