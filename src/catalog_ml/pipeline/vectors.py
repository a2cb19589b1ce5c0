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

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import EMBEDDINGS

KEYS = ["product_id", "content_hash"]
VECTOR_COLUMNS = [*KEYS, "text_vector", "image_vector"]


def stored_vectors(lake: Lake, content_hashes: Iterable[str], encoder_version: str,
                   columns: list[str] = VECTOR_COLUMNS) -> pa.Table:
    """The rows of ``embeddings`` for these content hashes and this encoder version (only
    ``columns``: the keys alone say which products already have vectors)."""
    wanted = set(content_hashes)
    if not wanted:
        return pa.schema([EMBEDDINGS.schema.field(c) for c in columns]).empty_table()
    return lake.read("embeddings", where={"encoder_version": encoder_version,
                                          "content_hash": wanted}, columns=columns)


def without_vectors(lake: Lake, rows: pa.Table, encoder_version: str) -> pa.Table:
    """The rows (one per product and content hash) that have no stored vectors for these
    encoders, found in the driver with the filter pushed into the scan: the embeddings'
    history is never read whole, and a night with nothing new never needs Spark."""
    unique = pa.Table.from_pandas(rows.to_pandas().drop_duplicates(KEYS), schema=rows.schema,
                                  preserve_index=False)
    done = stored_vectors(lake, unique.column("content_hash").to_pylist(), encoder_version,
                          KEYS)
    if done.num_rows == 0:
        return unique
    return unique.join(done, KEYS, join_type="left anti")


def attach_vectors(lake: Lake, frame: pd.DataFrame, encoder_version: str) -> pd.DataFrame:
    """``frame`` (product_id, content_hash, ...) with its stored vectors for the encoders."""
    vectors = stored_vectors(lake, frame["content_hash"], encoder_version).to_pandas()
    vectors = vectors.drop_duplicates(KEYS)
    return frame.merge(vectors, on=KEYS, how="inner")

