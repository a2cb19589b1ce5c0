"""Figures of a model on labelled products: per level, per class, calibration, review coverage.

Everything here takes plain arrays (true paths, predicted paths, confidences), so the same
functions score a cross-validation fold, the held-out split, a single member or the champion
in an A/B comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from catalog_ml.taxonomy import depth, truncate
from catalog_ml.training.thresholds import coverage_at

ECE_BINS = 15


def level_metrics(true: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 at each level of the taxonomy path (level_1 = the top).

    Macro-F1 averages over the classes present in ``true`` (a class only predicted, never
    true, would otherwise add a zero that says nothing about the classes we have).
    """
    out: dict[str, dict[str, float]] = {}
    for level in range(1, depth(true) + 1):
        t = [truncate(p, level) for p in true]
        p = [truncate(q, level) for q in predicted]
        out[f"level_{level}"] = {
            "accuracy": float(accuracy_score(t, p)),
            "macro_f1": float(f1_score(t, p, labels=sorted(set(t)), average="macro",
                                       zero_division=0)),
        }
    return out


def per_class(true: list[str], predicted: list[str]) -> list[dict[str, Any]]:
    labels = sorted(set(true))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=labels, zero_division=0)
    return [{"class": c, "precision": float(p), "recall": float(r), "f1": float(f),
             "support": int(s)} for c, p, r, f, s in zip(labels, precision, recall, f1, support,
                                                          strict=True)]


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)


def confusion(true: list[str], predicted: list[str]) -> dict[str, Any]:
    labels = sorted(set(true) | set(predicted))
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    return {"labels": labels, "matrix": matrix.tolist()}


def summary(true: list[str], predicted: list[str], confidence: np.ndarray,
            threshold: float) -> dict[str, Any]:
    """The headline figures of one evaluation (no per-class detail)."""
    correct = np.asarray([t == p for t, p in zip(true, predicted, strict=True)])
    return {"levels": level_metrics(true, predicted), "n": len(true),
            "ece": expected_calibration_error(confidence, correct),
            "review": coverage_at(confidence, correct, threshold)}


def mean_and_spread(folds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Per level and metric: mean and standard deviation over the folds."""
    out: dict[str, dict[str, Any]] = {}
    for level in folds[0] if folds else {}:
        out[level] = {}
        for metric in folds[0][level]:
            values = [f[level][metric] for f in folds if level in f]
            out[level][metric] = {"mean": float(np.mean(values)),
                                  "std": float(np.std(values)), "folds": values}
    return out
