"""Step 3 of a night: text and image vectors for products whose content is new, on Spark.

Only (product, content hash) pairs with no embedding for the current encoder version are
computed, so a night where a tenth of the catalog changed embeds that tenth. Which pairs are
new is found in the driver (a filtered scan of the embeddings' keys), so a night with nothing
new starts no Spark. One iterator pandas UDF runs over Arrow batches with both encoders loaded
once per Python worker; a photo that cannot be read leaves a null image vector and the
product goes on with its text.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from catalog_ml.config import Settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.lake.spark import get_spark, parallelism, runs_in_driver
from catalog_ml.lake.spark_bridge import write_table
from catalog_ml.pipeline.embed_batches import embed_batch, embed_rows, worker_encoders
from catalog_ml.pipeline.results import Embedded
from catalog_ml.pipeline.vectors import without_vectors

log = logging.getLogger(__name__)
ROWS_PER_PARTITION = 1024
# below this many products per task, fewer tasks: each task's Python worker loads both encoders
# (seconds), which a small incremental night would otherwise pay once per core
MIN_ROWS_PER_TASK = 256
KEYS = ["product_id", "content_hash"]
# what the embed step reads of a product
INPUT = pa.schema([pa.field(name, pa.string()) for name in (
    *KEYS, "title", "brand", "description", "image_uri")])


EMBEDDED = StructType([StructField("text_vector", ArrayType(FloatType())),
                       StructField("image_vector", ArrayType(FloatType())),
                       StructField("image_status", StringType())])


def embed_udf(spec_json: str, parallel_tasks: int,
              storage_options: dict[str, str] | None = None) -> Any:
    """Iterator pandas UDF: (title, brand, description, image URI) batches -> vectors.

    One UDF for both modalities, so each Spark task runs one Python worker holding both
    encoders; two chained UDFs would run two workers per task, each loading the models.
    """
    from pyspark.sql.functions import pandas_udf

    options = dict(storage_options or {})

    @pandas_udf(EMBEDDED)  # type: ignore[call-overload]  # stubs lack struct returns
    def embed(
        batches: Iterator[tuple[pd.Series, pd.Series, pd.Series, pd.Series]],
    ) -> Iterator[pd.DataFrame]:
        encoders = worker_encoders(spec_json, parallel_tasks, options)
        for titles, brands, descriptions, uris in batches:
            yield embed_batch(encoders, titles, brands, descriptions, uris)
            print(f"[catalog-ml embed] {len(titles)} products", file=sys.stderr, flush=True)

    return embed


def embed_partitions(count: int, tasks: int) -> int:
    """A multiple of the tasks that run at once, of at most about ROWS_PER_PARTITION rows:
    every wave keeps every core busy. (5 partitions of 861 rows on 2 cores left one core idle
    for the last wave: a fifth of a 4,305-product night's embed time.)"""
    waves = math.ceil(count / (tasks * ROWS_PER_PARTITION))
    return max(1, tasks * waves)


def embed_products(rows: pa.Table | pd.DataFrame, settings: Settings, night: dt.date
                   ) -> Embedded:
    """Embed the products of ``rows`` (product_id, content_hash, title, brand, description,
    image_uri) that have no vectors yet for the configured encoders."""
    from pyspark.sql import functions as F

    lake = Lake.from_settings(settings)
    spec = EncoderSpec.from_settings(settings).check()
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(
        rows, preserve_index=False)
    table = table.select(INPUT.names).cast(INPUT)
    todo = without_vectors(lake, table, spec.version)
    count = todo.num_rows
    result = Embedded(night=night, encoder_version=spec.version,
                      candidates=table.group_by(KEYS).aggregate([]).num_rows, embedded=0)
    if count == 0:
        log.info("embed: nothing new for %s", spec.version)
        return result
    if runs_in_driver(settings, count):
        result.embedded = _embed_in_driver(todo, spec, settings, lake, night)
        return result
    from catalog_ml.pipeline.warm_encoders import release

    release(spec.to_json())  # the encoders load in the Spark workers instead
    spark = get_spark(settings)
    new = spark.createDataFrame(todo.to_pandas(), ", ".join(f"{f.name} string" for f in INPUT))
    tasks = min(parallelism(spark), math.ceil(count / MIN_ROWS_PER_TASK))
    partitions = embed_partitions(count, tasks)
    log.info("embed: %d products in %d partitions with %s", count, partitions, spec.version)
    embed = embed_udf(spec.to_json(), tasks, settings.storage_options)  # threads per task
    vectors = (  # batches by key hash, sorted: the same products meet in the same batches
        # on any cluster and in any rerun, so their vectors agree to the last bit
        new.repartition(partitions, *KEYS).sortWithinPartitions(*KEYS)
        .withColumn("embedded", embed("title", "brand", "description", "image_uri"))
        .select(*KEYS, F.lit(spec.version).alias("encoder_version"),
                F.col("embedded.text_vector").alias("text_vector"),
                F.col("embedded.image_vector").alias("image_vector"),
                F.col("embedded.image_status").alias("image_status"),
                F.lit(night).alias("dump_date"),
                F.current_timestamp().alias("embedded_at"))
    )
    result.embedded = write_table(vectors, lake, "embeddings")
    return result


def _embed_in_driver(todo: pa.Table, spec: EncoderSpec, settings: Settings, lake: Lake,
                     night: dt.date) -> int:
    """A small night's new products embedded in this process, in key order and batches of
    ROWS_PER_PARTITION, committed once: no JVM start and no model load per Spark worker.
    The encoders ``run_night`` loaded in a second process meanwhile do it when ready."""
    from catalog_ml.pipeline.warm_encoders import preload_classifier, warm_for

    warm = warm_for(spec.to_json())
    if warm is not None:
        embed = warm.embed
        preload_classifier()  # the next step's imports, while this process waits
    else:
        # one task: this process gets every core's threads
        embed = functools.partial(embed_rows, worker_encoders(
            spec.to_json(), 1, settings.storage_options or {}))
    frame = todo.to_pandas().sort_values(KEYS, kind="stable").reset_index(drop=True)
    log.info("embed: %d products in the driver with %s%s", len(frame), spec.version,
             " (encoders loaded while validating)" if warm is not None else "")
    parts = []
    for start in range(0, len(frame), ROWS_PER_PARTITION):
        rows = frame.iloc[start:start + ROWS_PER_PARTITION]
        vectors = embed(rows)
        parts.append(pa.table({
            "product_id": rows["product_id"].tolist(),
            "content_hash": rows["content_hash"].tolist(),
            "encoder_version": [spec.version] * len(rows),
            "text_vector": vectors["text_vector"],
            "image_vector": vectors["image_vector"],
            "image_status": vectors["image_status"],
            "dump_date": [night] * len(rows),
            "embedded_at": [dt.datetime.now(dt.UTC)] * len(rows),
        }))
        log.info("embed: %d of %d products", start + len(rows), len(frame))
    lake.append("embeddings", pa.concat_tables(parts, promote_options="permissive"))
    return len(frame)


def embed_night(settings: Settings, night: dt.date) -> Embedded:
    lake = Lake.from_settings(settings)
    products = lake.read("product_snapshots", where={"dump_date": night}, columns=INPUT.names)
    return embed_products(products, settings, night)
