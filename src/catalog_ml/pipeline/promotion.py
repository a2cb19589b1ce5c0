"""The A/B comparison of a challenger with the champion on the same held-out products.

Both models classify the challenger's held-out products (chosen by product-id hash, so the
champion did not train on them either, as long as it was trained with the same split rule);
the score is the mean of leaf accuracy and leaf macro-F1. The comparison is stored in
``model_comparisons`` whatever its outcome, so a refused promotion can be read later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pandas as pd
import pyarrow as pa

from catalog_ml.errors import ArtifactError
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import MODEL_COMPARISONS
from catalog_ml.models.ensemble import EnsembleModel, ProductBatch
from catalog_ml.models.registry import ModelRecord
from catalog_ml.pipeline.vectors import attach_vectors
from catalog_ml.taxonomy import depth
from catalog_ml.training.evaluation import level_metrics

log = logging.getLogger(__name__)


def score(levels: dict[str, dict[str, float]]) -> float:
    leaf = levels[f"level_{len(levels)}"]
    return (leaf["accuracy"] + leaf["macro_f1"]) / 2


def _predict(model: EnsembleModel, frame: pd.DataFrame) -> list[str]:
    batch = ProductBatch.from_frame(frame, model.price_scale, model.image_dim)
    return model.predict(batch).categories


def compare_with_champion(lake: Lake, challenger: EnsembleModel, challenger_version: str,
                          champion: ModelRecord, holdout: pd.DataFrame, margin: float
                          ) -> dict[str, Any]:
    truth = list(holdout["category"])
    row: dict[str, Any] = {
        "challenger": challenger_version, "champion": champion.version,
        "compared_at": dt.datetime.now(dt.UTC), "products": len(holdout),
        "split": "holdout: sha256(product_id) below holdout_share", "margin": margin,
        "challenger_score": None, "champion_score": None, "challenger_wins": False}
    if holdout.empty or depth(truth) == 0:
        row["reason"] = "no held-out products to compare on; promote by hand if wanted"
        return _store(lake, row)
    challenger_levels = level_metrics(truth, _predict(challenger, holdout))
    row["challenger_score"] = score(challenger_levels)
    details: dict[str, Any] = {"challenger": challenger_levels}
    try:
        model = champion.load(lake)
    except ArtifactError as exc:
        row.update(challenger_wins=True, details=json.dumps(details),
                   reason=f"the champion cannot be loaded ({exc}); the challenger replaces it")
        return _store(lake, row)
    if model.encoder_version != challenger.encoder_version:
        base = holdout.drop(columns=["text_vector", "image_vector"])
        champion_rows = attach_vectors(lake, base, model.encoder_version)
        if len(champion_rows) < len(holdout):
            row["reason"] = (f"the champion uses other encoders ({model.encoder_version}) with "
                             f"no vectors for {len(holdout) - len(champion_rows)} held-out "
                             "products: not comparable, promote by hand if wanted")
            row["details"] = json.dumps(details)
            return _store(lake, row)
        holdout = champion_rows.set_index("product_id").loc[holdout["product_id"]].reset_index()
    champion_levels = level_metrics(truth, _predict(model, holdout))
    details["champion"] = champion_levels
    row["champion_score"] = score(champion_levels)
    gain = row["challenger_score"] - row["champion_score"]
    row["challenger_wins"] = gain >= margin
    row["reason"] = (f"challenger {row['challenger_score']:.4f} vs champion "
                     f"{row['champion_score']:.4f} (mean of leaf accuracy and macro-F1 on "
                     f"{len(holdout)} held-out products): "
                     + ("wins" if row["challenger_wins"] else "does not win")
                     + f" by the margin {margin}")
    row["details"] = json.dumps(details)
    return _store(lake, row)


def _store(lake: Lake, row: dict[str, Any]) -> dict[str, Any]:
    lake.upsert("model_comparisons",
                pa.Table.from_pylist([row], schema=MODEL_COMPARISONS.schema))
    log.info("A/B %s vs %s: %s", row["challenger"], row["champion"], row["reason"])
    return {k: v for k, v in row.items() if k != "details"}


def latest_comparison(lake: Lake, challenger_version: str) -> dict[str, Any] | None:
    rows = lake.read("model_comparisons", where={"challenger": challenger_version}).to_pylist()
    return max(rows, key=lambda r: r["compared_at"]) if rows else None
