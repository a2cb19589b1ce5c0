"""Step 3 of a night: text and image vectors for products whose content is new, on Spark.

Only (product, content hash) pairs with no embedding for the current encoder version are
computed, so a night where a tenth of the catalog changed embeds that tenth. Each Spark task
runs an iterator over Arrow batches with the encoders loaded once per Python worker; a photo
that cannot be read leaves a null image vector and the product goes on with its text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog_ml.compute import get_spark
from catalog_ml.config import Settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.lake.spark_bridge import read_table, write_table
from catalog_ml.lake.tables import EMBEDDINGS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
ROWS_PER_PARTITION = 1024
KEYS = ["product_id", "content_hash"]


def embed_batches(spec_json: str, parallel_tasks: int, night: dt.date
                  ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each Spark task runs (mapInArrow); it must pickle, so it holds only data."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from catalog_ml.features.encoders import EncoderSpec, cached_encoders
        from catalog_ml.features.runtime import set_threads
        from catalog_ml.features.text import product_text

        set_threads(parallel_tasks)
        spec = EncoderSpec(**json.loads(spec_json))
        encoders = cached_encoders(spec)
        for batch in batches:
            rows = batch.to_pydict()
            texts = [product_text(t, b, d) for t, b, d in
                     zip(rows["title"], rows["brand"], rows["description"], strict=True)]
            text_vectors = encoders.encode_text(texts)
            image_vectors, statuses = encoders.encode_images(rows["image_uri"])
            now = dt.datetime.now(dt.UTC)
            n = batch.num_rows
            print(f"[catalog-ml embed] {n} products embedded", file=sys.stderr, flush=True)
            yield pa.RecordBatch.from_pydict({
                "product_id": rows["product_id"],
                "content_hash": rows["content_hash"],
                "encoder_version": [spec.version] * n,
                "text_vector": pa.array(list(text_vectors), type=pa.list_(pa.float32())),
                "image_vector": pa.array(image_vectors, type=pa.list_(pa.float32())),
                "image_status": statuses,
                "dump_date": [night] * n,
                "embedded_at": pa.array([now] * n, type=pa.timestamp("us", tz="UTC")),
            }, schema=EMBEDDINGS.schema)

    return run


def embed_products(products: DataFrame, settings: Settings, night: dt.date) -> dict[str, Any]:
    """Embed the rows of ``products`` (product_id, content_hash, title, brand, description,
    image_uri) that have no vectors yet for the configured encoders."""
    from catalog_ml.lake.spark_bridge import spark_schema

    spark = products.sparkSession
    lake = Lake(settings.lake, settings.storage_options)
    spec = EncoderSpec.from_settings(settings)
    done = (read_table(spark, lake, "embeddings")
            .filter(f"encoder_version = '{spec.version}'").select(*KEYS))
    todo = (products.select(*KEYS, "title", "brand", "description", "image_uri")
            .dropDuplicates(KEYS).join(done, KEYS, "left_anti"))
    count = todo.count()
    result: dict[str, Any] = {"night": night.isoformat(), "encoder_version": spec.version,
                              "candidates": products.select(*KEYS).distinct().count(),
                              "embedded": 0}
    if count == 0:
        log.info("embed: nothing new for %s", spec.version)
        return result
    parallelism = spark.sparkContext.defaultParallelism
    partitions = max(parallelism, math.ceil(count / ROWS_PER_PARTITION))
    log.info("embed: %d products in %d partitions with %s", count, partitions, spec.version)
    vectors = todo.repartition(partitions).mapInArrow(
        embed_batches(spec.to_json(), parallelism, night), spark_schema(EMBEDDINGS.schema))
    result["embedded"] = write_table(vectors, lake, "embeddings")
    return result


def embed_night(settings: Settings, night: dt.date) -> dict[str, Any]:
    spark = get_spark(settings)
    lake = Lake(settings.lake, settings.storage_options)
    products = read_table(spark, lake, "product_snapshots", where={"dump_date": night})
    return embed_products(products, settings, night)
