"""The review threshold: the lowest confidence whose auto-accepted products reach the
precision target, with a margin for the sample it was chosen on."""

from __future__ import annotations

import math

import numpy as np

NO_THRESHOLD = math.nextafter(1.0, 2.0)  # above every confidence: everything goes to review


def wilson_lower(correct: np.ndarray, z: float) -> np.ndarray:
    """Lower bound of the precision of the first k, for every k (sorted input)."""
    k = np.arange(1, len(correct) + 1)
    p = np.cumsum(correct) / k
    centre = p + z * z / (2 * k)
    spread = z * np.sqrt(p * (1 - p) / k + z * z / (4 * k * k))
    return (centre - spread) / (1 + z * z / k)


def review_threshold(confidence: np.ndarray, correct: np.ndarray, target: float,
                     z: float = 2.326) -> float:
    """The lowest confidence whose accepted set (confidence >= it) is ``target`` precise.

    Uses the one-sided 99 % lower bound of the precision, not the point estimate: the
    threshold is chosen on one sample and must hold on tomorrow's products. When no
    threshold reaches the target, everything goes to review (threshold above 1).
    """
    if len(confidence) == 0:
        return NO_THRESHOLD
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


def describe(threshold: float, target: float, products: int) -> str:
    """The threshold as the training log states it."""
    if threshold <= 1:
        return f"needs_review below confidence {threshold:.3f}"
    return (f"no confidence is {target:.0%} precise with 99 % certainty on {products} "
            "out-of-fold products, so every product goes to review: label more products")
