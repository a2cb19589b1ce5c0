"""Step 4 of a night: the champion model classifies every valid product of the night.

The night's rows in ``classifications`` are replaced in one commit, so a rerun never leaves
two rows for a product and date. The model is loaded once per Spark worker.

A product whose content is unchanged since the last classified night, and which the same
model decided then, keeps the model's answer of that night (category, confidence, top-k,
modality weights): the model is a pure function of the content, so running it again would
give the same numbers (nearly: float32 sums depend on how a cluster batched the rows, so a
rerun keeps its own night's answers and repeats it to the last digit). Only new or changed
products meet the model and their vectors, so a night where 1 % of a million products
changed classifies ten thousand. The review cut and the analyst rules are applied afresh to
every row, so a changed threshold or a new rule holds for the whole catalog the same night.
A changed ``top_k`` or another champion means a full run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog_ml.config import Settings
from catalog_ml.errors import MissingEmbeddingsError
from catalog_ml.lake import Lake
from catalog_ml.lake.spark import get_spark, parallelism, runs_in_driver
from catalog_ml.lake.spark_bridge import read_table, spark_schema, write_table
from catalog_ml.lake.tables import CLASSIFICATIONS
from catalog_ml.models.registry import champion
from catalog_ml.models.rules import Rule, RuleBook, load_rules
from catalog_ml.pipeline.results import Classified
from catalog_ml.pipeline.vectors import stored_vectors

log = logging.getLogger(__name__)
KEYS = ["product_id", "content_hash"]
TEXT_COLUMNS = ["title", "brand", "description", "attributes"]  # read by the lexical member
MODEL_ANSWER = ["category", "confidence", "top_k", "modality_weights"]  # what a model decided
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
    return apply_rules(columns, frame, rules)


def apply_rules(columns: dict[str, list[Any]], frame: Any, rules: RuleBook | None
                ) -> dict[str, list[Any]]:
    """An analyst rule that matches a row's title / brand / attributes decides it."""
    if not rules:
        return columns
    n = len(frame)
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


def classify_batches(artifact: str, sha256: str | None, version: str, cut: float,
                     top_k: int, night: dt.date, parallel_tasks: int,
                     storage_options: dict[str, str] | None = None,
                     rules: list[Rule] | None = None,
                     ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``cut``: the review threshold, resolved by ``classify_night`` (the model's own unless
    the setting ``review_threshold`` names one)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from catalog_ml.features.runtime import set_threads

        set_threads(parallel_tasks)
        model = _model(artifact, sha256, storage_options)
        book = RuleBook(rules or [])
        for batch in batches:
            yield pa.RecordBatch.from_pydict(
                classification_columns(model, batch.to_pandas(), version, cut, top_k, night,
                                       book),
                schema=CLASSIFICATIONS.schema)

    return run


def carried_batches(version: str, cut: float, night: dt.date,
                    rules: list[Rule] | None = None,
                    ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Rows that keep the model's earlier answer: tonight's date, tonight's review cut and
    rules; the model's columns as they were. Arrow all the way unless a rule may match."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        book = RuleBook(rules or [])
        now = dt.datetime.now(dt.UTC)
        for batch in batches:
            n = batch.num_rows
            confidence = batch.column("confidence").to_numpy(zero_copy_only=False)
            columns: dict[str, Any] = {
                "run_date": pa.array([night] * n, pa.date32()),
                "product_id": batch.column("product_id"),
                "content_hash": batch.column("content_hash"),
                "category": batch.column("category"),
                "confidence": batch.column("confidence"),
                "top_k": batch.column("top_k"),
                "model_version": pa.array([version] * n, pa.string()),
                "needs_review": pa.array(needs_review(confidence, cut), pa.bool_()),
                "modality_weights": batch.column("modality_weights"),
                "classified_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                "decided_by": pa.array(["model"] * n, pa.string()),
            }
            if book:
                decided = ("category", "confidence", "needs_review", "decided_by")
                lists = {c: columns[c].to_pylist() for c in decided}
                apply_rules(lists, batch.to_pandas(), book)
                columns.update({c: pa.array(lists[c], CLASSIFICATIONS.schema.field(c).type)
                                for c in decided})
            yield pa.RecordBatch.from_pydict(columns, schema=CLASSIFICATIONS.schema)

    return run


def last_classified_night(lake: Lake, night: dt.date) -> dt.date | None:
    """The latest night up to ``night`` with classifications (from the Delta log). A rerun
    finds its own night: batches on a cluster differ from run to run and float32 sums with
    them, so only keeping its own answers repeats a night to the last digit."""
    earlier = [d for d in lake.partition_values("classifications", "run_date") if d <= night]
    return earlier[-1] if earlier else None


def missing_embeddings(night: dt.date, missing: int, encoder_version: str
                       ) -> MissingEmbeddingsError:
    return MissingEmbeddingsError(
        f"night {night}: {missing} products have no embeddings for the champion's encoders "
        f"({encoder_version}); run the embed step, or retrain if the encoder settings changed")


def earlier_answers(spark: Any, lake: Lake, night: dt.date, model_version: str, top_k: int
                    ) -> Any:
    """The model's answers of the last classified night (this one on a rerun) that still hold:
    decided by this model version (not by a rule) with ``top_k`` entries. None: no such night."""
    from pyspark.sql import functions as F

    previous = last_classified_night(lake, night)
    if previous is None:
        return None
    return (read_table(spark, lake, "classifications", where={"run_date": previous})
            .filter((F.col("model_version") == F.lit(model_version))
                    & (F.col("decided_by") == F.lit("model"))
                    & (F.size("top_k") == F.lit(top_k)))
            .select(*KEYS, *MODEL_ANSWER).dropDuplicates(KEYS))


def classify_night(settings: Settings, night: dt.date) -> Classified:
    lake = Lake.from_settings(settings)
    model = champion(lake)
    if model is None:
        log.warning("night %s: no champion model yet; run `catalog-ml train`", night)
        return Classified(night=night, classified=0,
                          skipped="no champion model registered; run `catalog-ml train`")
    meta = model.verify(lake)  # here, so a bad artifact is one clear error, not a worker's
    top_k = min(settings.top_k, len(meta["classes"]))
    cut = (float(meta["review_threshold"]) if settings.review_threshold < 0
           else settings.review_threshold)
    rules = load_rules(lake)
    RuleBook(rules)  # compiled here first, so a rule RE2 cannot run is one clear error
    count = lake.count_rows("product_snapshots", {"dump_date": night})
    if count is not None and runs_in_driver(settings, count):
        written, fresh = _classify_in_driver(lake, model, night, top_k, cut, rules)
        return _classified(night, model.version, written, fresh)
    from pyspark.sql import functions as F

    spark = get_spark(settings)
    products = read_table(spark, lake, "product_snapshots", where={"dump_date": night}).select(
        *KEYS, *TEXT_COLUMNS, "price")
    answers = earlier_answers(spark, lake, night, model.version, top_k)
    carried = None
    if answers is not None:
        products = products.join(answers, KEYS, "left").cache()
        carried = products.filter(F.col("category").isNotNull())
        products = products.filter(F.col("category").isNull()).drop(*MODEL_ANSWER)
    vectors = (read_table(spark, lake, "embeddings")
               .filter(F.col("encoder_version") == F.lit(model.encoder_version))
               .select(*KEYS, "text_vector", "image_vector").dropDuplicates(KEYS))
    joined = products.join(vectors, KEYS, "left").cache()
    fresh = joined.count()
    missing = joined.filter("text_vector IS NULL").count()
    if missing:
        joined.unpersist()
        raise missing_embeddings(night, missing, model.encoder_version)
    tasks = parallelism(spark)
    schema = spark_schema(CLASSIFICATIONS.schema)
    rows = joined.mapInArrow(
        classify_batches(model.location(lake), model.artifact_sha256, model.version,
                         cut, top_k, night, tasks, lake.storage_options or None, rules),
        schema)
    if carried is not None:
        rows = rows.unionByName(carried.mapInArrow(
            carried_batches(model.version, cut, night, rules), schema))
    written = write_table(rows, lake, "classifications", replace={"run_date": night})
    joined.unpersist()
    if answers is not None:
        products.unpersist()
    return _classified(night, model.version, written, fresh)


def _classified(night: dt.date, version: str, written: int, fresh: int) -> Classified:
    log.info("night %s: %d classified, %d of them by the model, %d unchanged since the last "
             "classified night", night, written, fresh, written - fresh)
    return Classified(night=night, classified=written, model_version=version,
                      by_model=fresh, carried_over=written - fresh)


def _attach(left: pa.Table, right: pa.Table, columns: list[str]) -> pa.Table:
    """``left`` with ``right``'s ``columns`` for equal KEYS (null where none), in left's order.
    Joined by row number: Arrow's hash join carries no list columns (top_k, vectors)."""
    firsts = right.select(KEYS).to_pandas().drop_duplicates(KEYS).index.to_numpy()
    right = right.take(pa.array(firsts))
    index = right.select(KEYS).append_column("_right", pa.array(np.arange(right.num_rows)))
    order = left.select(KEYS).append_column("_left", pa.array(np.arange(left.num_rows)))
    joined = order.join(index, KEYS, join_type="left outer").sort_by("_left")
    taken = right.select(columns).take(joined.column("_right"))
    for name in columns:
        left = left.append_column(right.schema.field(name), taken.column(name))
    return left


def _classify_in_driver(lake: Lake, model: Any, night: dt.date, top_k: int, cut: float,
                        rules: list[Rule]) -> tuple[int, int]:
    """The same night as the Spark path gives, for a small night, in this process: rows
    written and how many met the model."""
    products = lake.read("product_snapshots", where={"dump_date": night},
                         columns=[*KEYS, *TEXT_COLUMNS, "price"])
    carried = None
    previous = last_classified_night(lake, night)
    if previous is not None:
        answers = lake.read("classifications", where={"run_date": previous})
        keep = pc.and_(pc.and_(pc.equal(answers["model_version"], model.version),
                               pc.equal(answers["decided_by"], "model")),
                       pc.equal(pc.list_value_length(answers["top_k"]), top_k))
        products = _attach(products, answers.filter(keep), MODEL_ANSWER)
        known = pc.is_valid(products["category"])
        carried = products.filter(known)
        products = products.filter(pc.invert(known)).drop_columns(MODEL_ANSWER)
    vectors = stored_vectors(lake, products.column("content_hash").to_pylist(),
                             model.encoder_version)
    products = _attach(products, vectors, ["text_vector", "image_vector"])
    missing = products["text_vector"].null_count
    if missing:
        raise missing_embeddings(night, missing, model.encoder_version)
    batches = list(classify_batches(model.location(lake), model.artifact_sha256, model.version,
                                    cut, top_k, night, 1, lake.storage_options or None, rules)(
        iter(products.to_batches(max_chunksize=2048))))
    if carried is not None:
        batches += carried_batches(model.version, cut, night, rules)(
            iter(carried.to_batches(max_chunksize=2048)))
    table = pa.Table.from_batches(batches, schema=CLASSIFICATIONS.schema)
    lake.replace_slice("classifications", table, {"run_date": night})
    return table.num_rows, products.num_rows
