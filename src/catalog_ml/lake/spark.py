"""The Spark session, built from settings: ``local[*]`` on a laptop, a cluster by configuration,
or a warm Spark Connect server (``spark_master = "sc://HOST:PORT"``).

Local defaults follow what was measured here (shared/STACK.md): workers run the venv's Python,
worker reuse stays on so a model loads once per worker, few shuffle partitions, a 4 GB driver.

With Spark Connect every client (each Airflow task, each CLI call) joins one named server
session, derived from the server and the lake: the server keeps that session's Python
workers, and with them the loaded encoders and champion, from one task and night to the next.
A task then costs a gRPC connection (well under a second), not a JVM start and model loads.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from typing import TYPE_CHECKING, Any

from catalog_ml.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)
SESSION_NAMESPACE = uuid.UUID("0b5c3c2e-57a4-4b7e-9d0e-6c1f3a9d2e41")
_SESSIONS: dict[str, Any] = {}


def is_connect(settings: Settings) -> bool:
    return settings.spark_master.startswith("sc://")


def connect_url(settings: Settings) -> str:
    """The Spark Connect URL with the shared session id (kept if the URL names its own)."""
    url = settings.spark_master
    if "session_id=" in url:
        return url
    session = uuid.uuid5(SESSION_NAMESPACE, f"{url}|{settings.lake}")
    return f"{url.rstrip('/')}/;session_id={session}"


def runs_in_driver(settings: Settings, products: int) -> bool:
    """Whether a step with this many products to embed or classify runs in the driver process
    instead: only with a local master (its driver is the whole machine anyway) and at most
    ``driver_max_products``. A JVM start and a model load per Python worker cost more than
    the work of a small night (setting 0: always Spark)."""
    return settings.spark_master.startswith("local") and products <= settings.driver_max_products


def parallelism(spark: Any) -> int:
    """Tasks that run at once: what partitions and per-worker threads are sized by."""
    context = getattr(spark, "sparkContext", None) if not _is_remote(spark) else None
    if context is not None:
        return int(context.defaultParallelism)
    value = spark.conf.get("spark.default.parallelism", None)
    if value is None:
        master = spark.conf.get("spark.master", "local[*]")
        cores = master[len("local["):-1] if master.startswith("local[") else "*"
        value = os.cpu_count() if cores == "*" else cores.split(",")[0]
    return max(1, int(value or 1))


def _is_remote(spark: Any) -> bool:
    return type(spark).__module__.startswith("pyspark.sql.connect")


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


def _connect(settings: Settings) -> Any:
    """A client of the warm Spark Connect server, in the shared session."""
    from pyspark.sql import SparkSession

    url = connect_url(settings)
    if url in _SESSIONS:
        return _SESSIONS[url]
    builder = SparkSession.builder.remote(url)
    for key, value in settings.spark_conf.items():
        if key.startswith("spark.sql."):  # the server's static settings are its own
            builder = builder.config(key, value)
    log.info("connecting to Spark Connect at %s", settings.spark_master)
    session = builder.getOrCreate()
    session.addTag(process_tag())  # what interrupt_jobs stops: this process's, not the rest
    _SESSIONS[url] = session
    return session


def process_tag() -> str:
    """The tag of this process's operations on a shared Spark Connect session."""
    return f"catalog-ml-pid-{os.getpid()}"


def interrupt_jobs() -> None:
    """Stop the Spark work this process started and is no longer waiting for (a command that
    the resident worker stopped mid-action): its jobs on a local or cluster context, its tagged
    operations on a Spark Connect session that other clients share. Starts no Spark."""
    for session in _SESSIONS.values():
        try:
            session.interruptTag(process_tag())
        except Exception as exc:  # a server gone meanwhile has nothing left to stop
            log.warning("could not interrupt the Spark Connect operations: %s", exc)
    if "pyspark" in sys.modules:
        from pyspark import SparkContext

        context = SparkContext._active_spark_context
        if context is not None:
            context.cancelAllJobs()


def get_spark(settings: Settings) -> SparkSession:
    """The active session, or a new one configured from settings."""
    from pyspark.sql import SparkSession

    if is_connect(settings):
        return _connect(settings)
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
        # Workers must run this interpreter (the venv, or the image's Python on a cluster built
        # from the same image), not whatever python3 is on PATH; spark.pyspark.python in
        # spark_conf names another.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        if settings.spark_master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for key, value in conf.items():
        builder = builder.config(key, value)
    log.info("starting Spark (%s)", settings.spark_master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
