"""Mixing the members: weights on the simplex learnt from out-of-fold predictions, a
temperature for the mix, and the decision (class and confidence) a mix makes."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from sklearn.metrics import f1_score

from catalog_ml.models.ensemble import combine, mixed_probabilities
from catalog_ml.models.linear import log_softmax
from catalog_ml.training.trainer import fit_temperature

WEIGHT_STEPS = 10  # member weights on a grid of tenths
Outputs = dict[str, np.ndarray]
Weights = tuple[dict[str, float], float]  # member weights, temperature


def simplex(members: int, steps: int) -> list[tuple[float, ...]]:
    return [tuple(c / steps for c in combo)
            for combo in itertools.product(range(steps + 1), repeat=members)
            if sum(combo) == steps]


def fit_weights(log_probs: Outputs, present: Outputs, targets: np.ndarray,
                names: tuple[str, ...], steps: int = WEIGHT_STEPS) -> Weights:
    """Member weights (summing to 1) that maximise accuracy + macro-F1, then a temperature
    that minimises the log-loss of the mix.

    A grid over the simplex, not gradient descent on the log-loss: the log-loss rewards the
    sharpest member, while the decisions users see are argmaxes, and rare classes matter.
    """
    names = tuple(n for n in names if n in log_probs)
    if not names:
        return {}, 1.0
    labels = np.unique(targets)
    best: tuple[float, float, dict[str, float]] | None = None
    for combo in simplex(len(names), steps):
        weights = {n: w for n, w in zip(names, combo, strict=True) if w > 0}
        mixed = combine(log_probs, present, weights, 1.0)
        predicted = mixed.argmax(1)
        score = float((predicted == targets).mean()) + float(f1_score(
            targets, predicted, labels=labels, average="macro", zero_division=0))
        if best is not None and score < best[0] - 1e-9:
            continue
        # equal decisions: the mix with the lower log-loss
        loss = -float(log_softmax(mixed)[np.arange(len(targets)), targets].mean())
        if best is None or score > best[0] + 1e-9 or loss < best[1]:
            best = (score, loss, weights)
    assert best is not None
    weights = {n: best[2].get(n, 0.0) for n in names}
    final = torch.from_numpy(combine(log_probs, present, weights, 1.0)).float()
    return weights, fit_temperature(final, torch.from_numpy(targets).long())


def decide(log_probs: Outputs, present: Outputs, weights: dict[str, float],
           temperature: float, classes: list[str]) -> tuple[list[str], np.ndarray]:
    """The mix's class and its confidence for every row."""
    probabilities = mixed_probabilities(log_probs, present, weights, temperature)
    best = probabilities.argmax(1)
    return [classes[i] for i in best], probabilities[np.arange(len(best)), best]


def rows(outputs: Outputs, index: np.ndarray) -> Outputs:
    return {k: v[index] for k, v in outputs.items()}
