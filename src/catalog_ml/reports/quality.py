"""Can we trust tonight's data and tonight's model? One row of figures per night."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from catalog_ml.reports.night_data import NightData
from catalog_ml.validation.reasons import reason_counts

CHANGE_COLUMNS = ["product_id", "previous_category", "category", "confidence",
                  "previous_model_version", "model_version", "content_changed"]


def js_divergence(tonight: pd.Series, before: pd.Series) -> float:
    """Jensen-Shannon divergence (base 2, 0 = same mix, 1 = disjoint) of two category mixes."""
    p, q = tonight.value_counts(normalize=True), before.value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    m = (p + q) / 2

    def kl(a: pd.Series) -> float:
        inside = a > 0
        return float((a[inside] * np.log2(a[inside] / m[inside])).sum())

    return max(0.0, (kl(p) + kl(q)) / 2)


def category_changes(data: NightData) -> pd.DataFrame:
    before = data.previous_classified[["product_id", "category", "content_hash",
                                       "model_version"]]
    joined = data.classified.merge(before, on="product_id", suffixes=("", "_before"))
    moved = joined[joined["category"] != joined["category_before"]]
    return pd.DataFrame({
        "product_id": moved["product_id"], "previous_category": moved["category_before"],
        "category": moved["category"], "confidence": moved["confidence"],
        "previous_model_version": moved["model_version_before"],
        "model_version": moved["model_version"],
        "content_changed": moved["content_hash"] != moved["content_hash_before"],
    }, columns=CHANGE_COLUMNS).reset_index(drop=True)


def _share(mask: pd.Series) -> float | None:
    return float(mask.mean()) if len(mask) else None


def quality(data: NightData, changes: pd.DataFrame) -> dict[str, Any]:
    snapshot, classified = data.snapshot, data.classified
    reasons = reason_counts(data.quarantine) if len(data.quarantine) else {}
    has_previous = data.previous_night is not None and len(data.previous_classified) > 0
    return {
        "previous_night": data.previous_night,
        "rows_received": len(snapshot) + len(data.quarantine),
        "rows_valid": len(snapshot),
        "quarantined": len(data.quarantine),
        "quarantine_reasons": [{"reason": r, "count": c} for r, c in
                               sorted(reasons.items(), key=lambda rc: (-rc[1], rc[0]))],
        "share_with_image": _share(snapshot["image"].notna() | snapshot["image_uri"].notna()),
        "share_with_price": _share(snapshot["price"].notna()),
        "share_with_description": _share(snapshot["description"].fillna("").str.strip() != ""),
        "classified": len(classified),
        "mean_confidence": float(classified["confidence"].mean()) if len(classified) else None,
        "needs_review_share": _share(classified["needs_review"].astype(bool)),
        "category_drift": js_divergence(classified["category"],
                                        data.previous_classified["category"])
        if has_previous and len(classified) else None,
        "category_changes": len(changes) if has_previous else None,
        "model_versions": sorted(classified["model_version"].dropna().unique().tolist()),
    }
