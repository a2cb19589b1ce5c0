"""Retraining: every labelled product in the lake -> embeddings -> fusion model -> registry.

Labels come from the ``labels`` table (the latest label per product wins, so a reviewer's
correction overrides the dump's); content comes from ``products`` (its current state). Products
without vectors for the current encoders are embedded first.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd

from catalog_ml.compute import get_spark
from catalog_ml.config import Settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.lake import Lake
from catalog_ml.models.inputs import PriceScale, build_inputs
from catalog_ml.models.registry import register
from catalog_ml.pipeline.embed import embed_products
from catalog_ml.training.trainer import TrainOptions, train_classifier

log = logging.getLogger(__name__)
MIN_LABELLED = 10


class NotEnoughLabelsError(ValueError):
    pass


def labelled_products(lake: Lake) -> pd.DataFrame:
    """Current content of each labelled product with its most recent label."""
    labels = lake.read("labels").to_pandas()
    if labels.empty:
        return labels
    labels = (labels.sort_values(["dump_date", "labelled_at"])
              .drop_duplicates("product_id", keep="last")[["product_id", "category"]])
    products = lake.read("products").to_pandas().drop(columns=["category"])
    return products.merge(labels, on="product_id", how="inner")


def attach_vectors(lake: Lake, frame: pd.DataFrame, encoder_version: str) -> pd.DataFrame:
    vectors = lake.read("embeddings", where={"encoder_version": encoder_version},
                        columns=["product_id", "content_hash", "text_vector", "image_vector"])
    vectors = vectors.to_pandas().drop_duplicates(["product_id", "content_hash"])
    return frame.merge(vectors, on=["product_id", "content_hash"], how="inner")


def train_from_lake(settings: Settings, progress: Any = None) -> dict[str, Any]:
    lake = Lake.from_settings(settings)
    frame = labelled_products(lake)
    if len(frame) < MIN_LABELLED:
        raise NotEnoughLabelsError(
            f"the lake at {lake.root} holds {len(frame)} labelled products; training needs at "
            f"least {MIN_LABELLED}. Run a night on a dump with a 'category' column first.")
    spark = get_spark(settings)
    today = dt.datetime.now(dt.UTC).date()
    columns = ["product_id", "content_hash", "title", "brand", "description", "image_uri"]
    rows = frame[columns].astype(object).where(frame[columns].notna(), None)
    embed_report = embed_products(
        spark.createDataFrame(rows, ", ".join(f"{c} string" for c in columns)), settings, today)
    spec = EncoderSpec.from_settings(settings)
    data = attach_vectors(lake, frame, spec.version)
    if len(data) < len(frame):
        raise RuntimeError(f"{len(frame) - len(data)} labelled products have no embeddings")
    prices = data["price"].to_numpy(dtype="float64", na_value=float("nan"))
    price_scale = PriceScale.fit(prices)
    image_dim = next((len(v) for v in data["image_vector"] if v is not None), 1280)
    inputs = build_inputs(list(data["text_vector"]), list(data["image_vector"]),
                          list(data["price"].astype(object).where(data["price"].notna(), None)),
                          price_scale, image_dim)
    options = TrainOptions.from_settings(settings)
    log.info("training on %d products, %d categories", len(data), data["category"].nunique())
    model = train_classifier(inputs, list(data["category"]), price_scale, spec.version, options,
                             progress=progress)
    record = register(lake, model, label_snapshot=f"labels@v{lake.version('labels')}")
    return {"version": record.version, "status": record.status, "metrics": model.metrics,
            "embedded_for_training": embed_report["embedded"], "labelled": len(data)}
