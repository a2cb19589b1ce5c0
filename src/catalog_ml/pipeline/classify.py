"""Step 4 of a night: the champion model classifies every valid product of the night.

The night's rows in ``classifications`` are replaced in one commit, so a rerun never leaves
two rows for a product and date. The model is loaded once per Spark worker.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from catalog_ml.config import Settings
from catalog_ml.errors import MissingEmbeddingsError
from catalog_ml.lake import Lake
from catalog_ml.lake.spark import get_spark, parallelism
from catalog_ml.lake.spark_bridge import read_table, spark_schema, write_table
from catalog_ml.lake.tables import CLASSIFICATIONS
from catalog_ml.models.registry import champion
from catalog_ml.models.rules import Rule, RuleBook, load_rules
from catalog_ml.pipeline.results import Classified

log = logging.getLogger(__name__)
KEYS = ["product_id", "content_hash"]
TEXT_COLUMNS = ["title", "brand", "description", "attributes"]  # read by the lexical member
_MODELS: dict[str, Any] = {}


def _model(path: str, sha256: str | None, storage_options: dict[str, str] | None) -> Any:
    """The worker's model, loaded (and verified) once per artifact digest."""
    from catalog_ml.models.ensemble import EnsembleModel

    key = f"{path}@{sha256}"
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = EnsembleModel.load(path, sha256, storage_options)
    return _MODELS[key]


def needs_review(confidence: np.ndarray, threshold: float) -> list[bool]:
    """Below the threshold, or not a number at all (NaN, inf): a person decides."""
    finite = np.isfinite(confidence)
    return (~(finite & (confidence >= threshold))).tolist()


def classification_columns(model: Any, frame: Any, version: str, cut: float, top_k: int,
                           night: dt.date, rules: RuleBook | None = None
                           ) -> dict[str, list[Any]]:
    """The ``classifications`` columns for rows with vectors, price and text: the one place
    where a prediction becomes a row, for the night and for the online API alike. An analyst
    rule that matches decides the category (``decided_by`` = its id, confidence 1)."""
    from catalog_ml.models.ensemble import ProductBatch

    prediction = model.predict(
        ProductBatch.from_frame(frame, model.price_scale, model.image_dim), top_k=top_k)
    now = dt.datetime.now(dt.UTC)
    n = len(frame)
    columns: dict[str, list[Any]] = {
        "run_date": [night] * n,
        "product_id": frame["product_id"].tolist(),
        "content_hash": frame["content_hash"].tolist(),
        "category": list(prediction.categories),
        "confidence": prediction.confidence.astype(float).tolist(),
        "top_k": [[{"category": c, "confidence": p} for c, p in top]
                  for top in prediction.top_k],
        "model_version": [version] * n,
        "needs_review": needs_review(prediction.confidence, cut),
        "modality_weights": [{"text": float(w[0]), "image": float(w[1]), "price": float(w[2])}
                             for w in prediction.modality_weights],
        "classified_at": pa.array([now] * n, type=pa.timestamp("us", tz="UTC")).to_pylist(),
        "decided_by": ["model"] * n,
    }
    if rules:
        texts = [frame[c].tolist() if c in frame else [None] * n
                 for c in ("title", "brand", "attributes")]
        for i, (title, brand, attributes) in enumerate(zip(*texts, strict=True)):
            rule = rules.decide(title, brand, attributes)
            if rule is not None:
                columns["category"][i] = rule.category
                columns["confidence"][i] = 1.0
                columns["needs_review"][i] = False
                columns["decided_by"][i] = rule.rule_id
    return columns


def classify_batches(artifact: str, sha256: str | None, version: str, threshold: float,
                     top_k: int, night: dt.date, parallel_tasks: int,
                     storage_options: dict[str, str] | None = None,
                     rules: list[Rule] | None = None,
                     ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``threshold`` < 0: the model's own review threshold (chosen for a target precision)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from catalog_ml.features.runtime import set_threads

        set_threads(parallel_tasks)
        model = _model(artifact, sha256, storage_options)
        cut = model.review_threshold if threshold < 0 else threshold
        book = RuleBook(rules or [])
        for batch in batches:
            yield pa.RecordBatch.from_pydict(
                classification_columns(model, batch.to_pandas(), version, cut, top_k, night,
                                       book),
                schema=CLASSIFICATIONS.schema)

    return run


def classify_night(settings: Settings, night: dt.date) -> Classified:
    lake = Lake.from_settings(settings)
    model = champion(lake)
    if model is not None:
        model.verify(lake)  # here, so a bad artifact is one clear error, not a worker's
    if model is None:
        log.warning("night %s: no champion model yet; run `catalog-ml train`", night)
        return Classified(night=night, classified=0,
                          skipped="no champion model registered; run `catalog-ml train`")
    from pyspark.sql import functions as F

    spark = get_spark(settings)
    products = read_table(spark, lake, "product_snapshots", where={"dump_date": night}).select(
        *KEYS, *TEXT_COLUMNS, "price")
    vectors = (read_table(spark, lake, "embeddings")
               .filter(F.col("encoder_version") == F.lit(model.encoder_version))
               .select(*KEYS, "text_vector", "image_vector").dropDuplicates(KEYS))
    joined = products.join(vectors, KEYS, "left").cache()
    missing = joined.filter("text_vector IS NULL").count()
    if missing:
        joined.unpersist()
        raise MissingEmbeddingsError(
            f"night {night}: {missing} products have no embeddings for the champion's encoders "
            f"({model.encoder_version}); run the embed step, or retrain if the encoder "
            "settings changed")
    tasks = parallelism(spark)
    rows = write_table(
        joined.mapInArrow(
            classify_batches(model.location(lake), model.artifact_sha256, model.version,
                             settings.review_threshold, settings.top_k, night, tasks,
                             lake.storage_options or None, load_rules(lake)),
            spark_schema(CLASSIFICATIONS.schema)),
        lake, "classifications", replace={"run_date": night})
    joined.unpersist()
    return Classified(night=night, classified=rows, model_version=model.version)
