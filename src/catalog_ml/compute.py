"""The Spark session, built from settings: ``local[*]`` on a laptop, a cluster by configuration.

Local defaults follow what was measured here (shared/STACK.md): workers run the venv's Python,
worker reuse stays on so a model loads once per worker, few shuffle partitions, a 4 GB driver.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from catalog_ml.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def spark_conf(settings: Settings) -> dict[str, str]:
    """Spark settings catalog-ml relies on; ``settings.spark_conf`` overrides any of them."""
    local = settings.spark_master.startswith("local")
    conf = {
        "spark.app.name": "catalog-ml",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "2048",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "snappy",
        "spark.python.worker.reuse": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
    }
    if local:
        conf.update({
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": str(os.cpu_count() or 2),
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        })
    conf.update(settings.spark_conf)
    return conf


def get_spark(settings: Settings) -> SparkSession:
    """The active session, or a new one configured from settings."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    conf = spark_conf(settings)
    builder = SparkSession.builder
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Launched by spark-submit: its --master and --conf win over our defaults.
        from pyspark import SparkConf

        submitted = SparkConf()
        conf = {k: v for k, v in conf.items()
                if not submitted.contains(k) or k in settings.spark_conf}
    else:
        builder = builder.master(settings.spark_master)
        if settings.spark_master.startswith("local"):
            # Workers must run this interpreter (the venv), not whatever python3 is on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark (%s)", settings.spark_master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
