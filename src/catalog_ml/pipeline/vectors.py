"""Stored vectors for given products: only their rows are read, never the whole table.

Training, the A/B comparison and the API each need the vectors of a known set of products;
the embeddings table holds every product's vectors of every encoder version, which on a large
catalog does not fit in the driver. The read is filtered by encoder version and content hash
(pushed into the Parquet scan) and returns one row per (product, content hash).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import EMBEDDINGS

KEYS = ["product_id", "content_hash"]
VECTOR_COLUMNS = [*KEYS, "text_vector", "image_vector"]


def stored_vectors(lake: Lake, content_hashes: Iterable[str], encoder_version: str
                   ) -> pa.Table:
    """The rows of ``embeddings`` for these content hashes and this encoder version."""
    wanted = sorted(set(content_hashes))
    table = lake.table_or_none("embeddings")
    if table is None or not wanted:
        return pa.schema([EMBEDDINGS.schema.field(c) for c in VECTOR_COLUMNS]).empty_table()
    condition = (pc.field("encoder_version") == encoder_version) & pc.field(
        "content_hash").isin(wanted)
    return lake.dataset(table).to_table(columns=VECTOR_COLUMNS, filter=condition)


def attach_vectors(lake: Lake, frame: pd.DataFrame, encoder_version: str) -> pd.DataFrame:
    """``frame`` (product_id, content_hash, ...) with its stored vectors for the encoders."""
    vectors = stored_vectors(lake, frame["content_hash"], encoder_version).to_pandas()
    vectors = vectors.drop_duplicates(KEYS)
    return frame.merge(vectors, on=KEYS, how="inner")

