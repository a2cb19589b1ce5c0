"""The answer's confidence: how likely it is to be right, not only how probable its category.

The mix's probability of the chosen category is overconfident exactly where tomorrow's night
is hardest: a category labelled once or twice. Out of fold, on a 700-product text-only
fashion catalog, the most confident errors were answers in categories with one or two labels
(and products of categories nobody labelled). So the confidence is a logistic calibration of
two numbers, fitted on the out-of-fold answers: the logit of the category's probability and
how many labelled products the category has (log 1 + n). ``top_k`` keeps the categories'
probabilities; ``confidence`` (and the review cut on it) uses this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

EPSILON = 1e-9


def _logit(probability: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probability, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def features(probability: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(n, 2): the logit of the chosen category's probability, log(1 + its labelled count)."""
    return np.column_stack([_logit(probability), np.log1p(np.asarray(support, np.float64))])


@dataclass(frozen=True)
class ConfidenceCalibration:
    """``sigmoid(a * logit(p) + b * log(1 + support[category]) + c)``."""

    probability_coef: float
    support_coef: float
    intercept: float
    support: tuple[int, ...]  # labelled products per class, in the model's class order

    def apply(self, probability: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        x = features(probability, np.asarray(self.support, dtype=np.int64)[chosen])
        z = x @ np.asarray([self.probability_coef, self.support_coef]) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"probability_coef": self.probability_coef, "support_coef": self.support_coef,
                "intercept": self.intercept, "support": list(self.support)}

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> ConfidenceCalibration:
        return cls(float(meta["probability_coef"]), float(meta["support_coef"]),
                   float(meta["intercept"]), tuple(int(n) for n in meta["support"]))


def as_meta(calibration: ConfidenceCalibration | None) -> dict[str, Any] | None:
    """What the artifact and the report store: the calibration as JSON, or None."""
    return calibration.to_dict() if calibration is not None else None


def calibration_problem(meta: Any, classes: int) -> str | None:
    """What in a stored calibration would give wrong confidences, or None (None is fine:
    models without one use the category's probability)."""
    if meta is None:
        return None
    try:
        calibration = ConfidenceCalibration.from_dict(meta)
    except (KeyError, TypeError, ValueError):
        return "confidence_calibration is not three numbers and a list of counts"
    numbers = (calibration.probability_coef, calibration.support_coef, calibration.intercept)
    if not all(math.isfinite(v) for v in numbers) or calibration.probability_coef <= 0:
        return (f"confidence_calibration {numbers} is not finite with a positive weight on "
                "the probability")
    if len(calibration.support) != classes or min(calibration.support, default=0) < 0:
        return (f"confidence_calibration counts {len(calibration.support)} classes' labels, "
                f"the model has {classes}")
    return None
