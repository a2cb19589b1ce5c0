"""Retraining: labelled products -> embeddings -> ensemble (evaluated) -> registry -> A/B.

Labels come from the ``labels`` table, optionally as of an earlier table version (the label
snapshot); the latest label per product wins, so a reviewer's correction overrides the
dump's. Content comes from ``products`` (its current state). Products without vectors for the
configured encoders are embedded first. Promotion is a separate step (``promote_if_better``)
so the retrain DAG can show it as its own task and emit the champion Asset only when it
happens.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pandas as pd

from catalog_ml.config import Settings
from catalog_ml.errors import ConfigError, DataError, MissingEmbeddingsError
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import label_snapshot, label_snapshot_version
from catalog_ml.models.ensemble import ProductBatch
from catalog_ml.models.inputs import PriceScale
from catalog_ml.models.registry import champion, promote, record, register
from catalog_ml.pipeline.embed import embed_products
from catalog_ml.pipeline.promotion import compare_with_champion, latest_comparison
from catalog_ml.pipeline.vectors import attach_vectors
from catalog_ml.reports.evaluation_page import evaluation_html
from catalog_ml.training.ensemble_trainer import LabelledProducts, train_ensemble
from catalog_ml.training.options import EnsembleOptions
from catalog_ml.training.splits import stratified_cap

log = logging.getLogger(__name__)
MIN_LABELLED = 10
IMAGE_DIM_DEFAULT = 1280


class NotEnoughLabelsError(DataError):
    pass


def labelled_products(lake: Lake, labels_version: int | None = None,
                      max_products: int | None = None) -> pd.DataFrame:
    """Current content of each labelled product with its most recent label; with
    ``max_products``, of a stratified sample of at most about that many (the labels are
    sampled first, so only the sample's products are read)."""
    if labels_version is not None:
        latest = lake.version("labels")
        if latest is None or not 0 <= labels_version <= latest:
            raise ConfigError(f"labels has no version {labels_version}; its versions are "
                              + ("none yet" if latest is None else f"0 to {latest}"))
    labels = latest_labels(lake, labels_version)
    if labels.empty:
        return labels
    if max_products is not None and len(labels) > max_products:
        keep = stratified_cap(list(labels["product_id"]), list(labels["category"]),
                              max_products, (labels["source"] == "review").to_numpy())
        log.info("training on a stratified sample of %d of %d labelled products (setting "
                 "train_max_products=%d)", int(keep.sum()), len(labels), max_products)
        labels = labels[keep]
    products = lake.read("products", where={"product_id": set(labels["product_id"])}
                         ).to_pandas().drop(columns=["category"])
    merged = products.merge(labels[["product_id", "category", "source"]], on="product_id",
                            how="inner")
    # in product order, not file order: compaction or another engine's files change the
    # order rows are read in, and training on the same labels must give the same model
    return merged.sort_values("product_id", kind="stable").reset_index(drop=True)


def latest_labels(lake: Lake, labels_version: int | None = None) -> pd.DataFrame:
    """Each product's most recent label (a review's correction outranks the dump's)."""
    labels = lake.read("labels", version=labels_version).to_pandas()
    if labels.empty:
        return labels
    return labels.sort_values(["dump_date", "labelled_at"]).drop_duplicates(
        "product_id", keep="last")



def label_changes_since_champion(lake: Lake) -> tuple[int | None, str]:
    """How many products' labels differ from those the champion was trained on, and in words;
    None when there is nothing to compare (no champion, or one without a label snapshot)."""
    current = champion(lake)
    if current is None:
        return None, "no champion yet"
    rows = lake.read("models", where={"version": current.version}).to_pylist()
    snapshot = rows[0]["label_snapshot"] if rows else None
    version = label_snapshot_version(snapshot)
    if version is None:
        return None, "no champion trained on a known label snapshot"

    def pairs(labels_version: int | None) -> set[tuple[str, str]]:
        frame = latest_labels(lake, labels_version)
        return set(zip(frame["product_id"], frame["category"], strict=True))

    then, now = pairs(version), pairs(None)
    changed = len(then ^ now)
    return changed, (f"{changed} label change(s) since the champion {current.version} was "
                     f"trained on {snapshot}")


def labelled_with_vectors(settings: Settings, lake: Lake, labels_version: int | None
                           ) -> tuple[pd.DataFrame, int]:
    frame = labelled_products(lake, labels_version, settings.train_max_products)
    if len(frame) < MIN_LABELLED:
        raise NotEnoughLabelsError(
            f"the lake at {lake.root} holds {len(frame)} labelled products; training needs at "
            f"least {MIN_LABELLED}. Run a night on a dump with a 'category' column first.")
    columns = ["product_id", "content_hash", "title", "brand", "description", "image_uri"]
    rows = frame[columns].astype(object).where(frame[columns].notna(), None)
    with lake.writer("embed for training"):
        embedded = embed_products(rows, settings, dt.datetime.now(dt.UTC).date()).embedded
    data = attach_vectors(lake, frame, EncoderSpec.from_settings(settings).version)
    if len(data) < len(frame):
        raise MissingEmbeddingsError(
            f"{len(frame) - len(data)} labelled products have no embeddings after the embed "
            "step; see embeddings.image_status and the step's log")
    return data.reset_index(drop=True), embedded


def train_challenger(settings: Settings, labels_version: int | None = None,
                     progress: Any = None) -> dict[str, Any]:
    """Train and evaluate on the label snapshot, register the version, compare it with the
    champion on the held-out products. Promotes nothing (the first model excepted)."""
    lake = Lake.from_settings(settings).require()
    snapshot = labels_version if labels_version is not None else lake.version("labels")
    data, embedded = labelled_with_vectors(settings, lake, labels_version)
    prices = data["price"].to_numpy(dtype="float64", na_value=float("nan"))
    price_scale = PriceScale.fit(prices)
    image_dim = next((len(v) for v in data["image_vector"] if v is not None),
                     IMAGE_DIM_DEFAULT)
    labelled = LabelledProducts(ProductBatch.from_frame(data, price_scale, image_dim),
                                list(data["category"]), list(data["product_id"]),
                                always_train=(data["source"] == "review").to_numpy(),
                                titles=list(data["title"]))
    spec = EncoderSpec.from_settings(settings)
    model, report = train_ensemble(labelled, price_scale, spec.version,
                                   EnsembleOptions.from_settings(settings), progress=progress)
    with lake.writer("register a trained model"):
        previous = champion(lake)
        entry = register(lake, model, label_snapshot=label_snapshot(snapshot),
                         evaluation=(json.dumps(report, indent=1, default=str),
                                     evaluation_html(report,
                                                     title="catalog-ml model evaluation")))
        result: dict[str, Any] = {
            "version": entry.version, "status": entry.status, "labelled": len(data),
            "embedded_for_training": embedded, "label_snapshot": label_snapshot(snapshot),
            "evaluation": f"{lake.file_path(entry.artifact_path)}/evaluation.html",
            "metrics": model.metrics}
        if previous is not None:
            holdout_ids = set(report.get("holdout", {}).get("product_ids", []))
            holdout = data[data["product_id"].isin(holdout_ids)].reset_index(drop=True)
            result["comparison"] = compare_with_champion(
                lake, model, entry.version, previous, holdout, settings.promotion_margin)
    return result


def promote_if_better(settings: Settings, version: str) -> dict[str, Any]:
    """Promote ``version`` when its A/B comparison with the champion says it wins."""
    lake = Lake.from_settings(settings)
    with lake.writer(f"promote {version} if better"):
        entry = record(lake, version)
        if entry.status == "champion":
            return {"version": version, "promoted": True, "reason": "already the champion"}
        comparison = latest_comparison(lake, version)
        if comparison is None:
            return {"version": version, "promoted": False,
                    "reason": "no comparison with the champion on record"}
        if not comparison["challenger_wins"]:
            return {"version": version, "promoted": False, "reason": comparison["reason"]}
        promote(lake, version)
    return {"version": version, "promoted": True, "reason": comparison["reason"]}


def train_from_lake(settings: Settings, labels_version: int | None = None,
                    promote_when_better: bool = True, progress: Any = None) -> dict[str, Any]:
    """What ``catalog-ml train`` and the retrain DAG do: train, evaluate, register, promote."""
    result = train_challenger(settings, labels_version, progress)
    if result["status"] != "champion":
        result["promotion"] = promote_if_better(settings, result["version"]) \
            if promote_when_better else {"promoted": False, "reason": "promotion not asked for"}
    return result
