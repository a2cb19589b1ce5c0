"""The review threshold: the lowest confidence whose auto-accepted products reach the
precision target, with a margin for the sample it was chosen on.

The margin is a one-sided Wilson lower bound at ``review_certainty`` (0.95 by default). At
0.99 a catalog with ~500 out-of-fold products needed about 99.3 % observed precision before
anything was accepted at a 97 % target, so small catalogs sent most products to review; at
0.95 it needs about 98.8 %. Thresholds chosen on one half of the out-of-fold products and
judged on the other held the target in about 88 % of splits on the fashion set (the judge
half's own sampling noise included), and the final model, trained on more products than any
fold model, is a little more precise than the fold models the threshold was chosen on.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

NO_THRESHOLD = math.nextafter(1.0, 2.0)  # above every confidence: everything goes to review


def wilson_lower(correct: np.ndarray, z: float) -> np.ndarray:
    """Lower bound of the precision of the first k, for every k (sorted input)."""
    k = np.arange(1, len(correct) + 1)
    p = np.cumsum(correct) / k
    centre = p + z * z / (2 * k)
    spread = z * np.sqrt(p * (1 - p) / k + z * z / (4 * k * k))
    return (centre - spread) / (1 + z * z / k)


def review_threshold(confidence: np.ndarray, correct: np.ndarray, target: float,
                     certainty: float = 0.95) -> float:
    """The lowest confidence whose accepted set (confidence >= it) is ``target`` precise.

    Uses the one-sided lower bound of the precision at ``certainty``, not the point
    estimate: the threshold is chosen on one sample and must hold on tomorrow's products.
    When no threshold reaches the target, everything goes to review (threshold above 1).
    """
    if len(confidence) == 0:
        return NO_THRESHOLD
    z = float(norm.ppf(certainty))
    order = np.argsort(-confidence, kind="stable")
    bound = wilson_lower(correct[order].astype(float), z)
    ok = np.flatnonzero(bound >= target)
    if len(ok) == 0:
        return NO_THRESHOLD
    k = ok.max()
    # ties: every product at the cut-off confidence is accepted with it
    return float(confidence[order][k])


def coverage_at(confidence: np.ndarray, correct: np.ndarray, threshold: float
                ) -> dict[str, float]:
    accepted = confidence >= threshold
    return {"threshold": float(threshold), "coverage": float(accepted.mean()) if len(
        accepted) else 0.0, "precision": float(correct[accepted].mean()) if accepted.any()
        else 1.0, "accepted": int(accepted.sum()), "products": len(accepted)}


def describe(threshold: float, target: float, products: int, certainty: float = 0.95) -> str:
    """The threshold as the training log states it."""
    if threshold <= 1:
        return f"needs_review below confidence {threshold:.3f}"
    return (f"no confidence is {target:.0%} precise with {certainty:.0%} certainty on "
            f"{products} out-of-fold products, so every product goes to review: label more "
            "products")
