"""Mixing the members: weights on the simplex learnt from out-of-fold predictions, a
temperature for the mix, the levels' weights in the path decision, and the decision (class
and confidence) a mix makes.

Every choice is scored on all levels of the taxonomy, not on the leaf alone: the mean over
levels of the accuracy, plus the leaf's macro-F1 so that a rare class counts as much as a
common one. (The upper levels' macro-F1 is left out: it averages over a handful of classes,
some with one or two products, and chasing it picked noise on the fashion set.) The weights
lie on a grid of tenths; in nested cross-validation a grid of fifths did 0.002 better on the
fashion set and 0.017 worse on a 700-product second shop, both within fold noise.

The best grid point on one sample of out-of-fold rows is partly that sample's noise, so the
weights are the mean of the best points of ``BAGS`` bootstrap resamples (bagged ensemble
selection, Caruana et al. 2004). Through ``train`` on the fashion set it raised every level's
accuracy by 0.0005-0.001 and macro-F1 by 0.004-0.011, and kept every modality in the mix; on
a 700-product second shop it moved the levels by -0.006 to +0.005, within that shop's noise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from catalog_ml.models.ensemble import combine, mixed_probabilities
from catalog_ml.models.hierarchy import Hierarchy, upper_level_weights
from catalog_ml.training.temperature import fit_temperature

WEIGHT_STEPS = 10  # member weights on a grid of tenths
UPPER_LEVEL_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)  # tried for each level above the leaf
MIN_GAIN = 1e-3  # the path decision must beat the plain argmax by this much to be used
BAGS = 20  # bootstrap resamples whose best weights are averaged (0: the best on all rows)
BAG_SEED = 0  # fixed: the same rows give the same weights, so a retrain is reproducible
SCORE_BLOCK = 64  # grid points scored at once: bounds the temporaries at ~5 MB per 10,000 rows
Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Mix:
    """How a view decides: member weights, the temperature of the mix, the levels' weights."""

    weights: dict[str, float]
    temperature: float
    level_weights: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"weights": self.weights, "temperature": self.temperature,
                "level_weights": list(self.level_weights)}


def simplex(members: int, steps: int) -> list[tuple[float, ...]]:
    return [tuple(c / steps for c in combo)
            for combo in itertools.product(range(steps + 1), repeat=members)
            if sum(combo) == steps]


def macro_f1(true: np.ndarray, predicted: np.ndarray, size: int) -> float:
    """Macro-F1 over the classes present in ``true`` (as sklearn with those labels), fast
    enough to score hundreds of candidate mixes."""
    hits = np.bincount(true[true == predicted], minlength=size)
    support = np.bincount(true, minlength=size)
    guessed = np.bincount(predicted, minlength=size)
    present = support > 0
    return float(np.mean(2 * hits[present] / (support[present] + guessed[present])))


def level_score(targets: np.ndarray, predicted: np.ndarray, hierarchy: Hierarchy) -> float:
    """Mean over the taxonomy's levels of the accuracy, plus the leaf's macro-F1."""
    accuracy = sum(float((ancestor[targets] == ancestor[predicted]).mean())
                   for ancestor in hierarchy.ancestors) / hierarchy.depth
    return accuracy + macro_f1(targets, predicted, len(hierarchy.ancestors[-1]))


def fit_weights(log_probs: Outputs, present: Outputs, targets: np.ndarray,
                names: tuple[str, ...], hierarchy: Hierarchy,
                steps: int = WEIGHT_STEPS, bags: int = BAGS) -> Mix:
    """Member weights (summing to 1) that score best on all levels, averaged over bootstrap
    resamples of the rows; a temperature that minimises the log-loss of the mix; then the
    weight of the upper levels in the path decision.

    A grid over the simplex, not gradient descent on the log-loss: the log-loss rewards the
    sharpest member, while the decisions users see are argmaxes, and rare classes matter.
    """
    names = tuple(n for n in names if n in log_probs)
    if not names:
        return Mix({}, 1.0)
    if len(targets) == 0:  # nothing to learn from (a fold of a tiny catalog): an even mix
        return Mix({n: 1 / len(names) for n in names}, 1.0)
    combos = np.asarray(simplex(len(names), steps))
    grid = GridOutcomes.of(log_probs, present, targets, names, combos, hierarchy)
    if bags == 0 or len(combos) == 1:
        averaged = combos[grid.best(np.ones(len(targets)))]
    else:
        rng = np.random.default_rng(BAG_SEED)
        draws = [np.bincount(rng.integers(len(targets), size=len(targets)),
                             minlength=len(targets)) for _ in range(bags)]
        averaged = combos[[grid.best(counts.astype(float)) for counts in draws]].mean(0)
    weights = {n: round(float(w), 6) for n, w in zip(names, averaged, strict=True)}
    temperature = fit_temperature(combine(log_probs, present, weights, 1.0), targets)
    probabilities = mixed_probabilities(log_probs, present, weights, temperature)
    return Mix(weights, temperature, fit_level_weights(probabilities, targets, hierarchy))


@dataclass(frozen=True)
class GridOutcomes:
    """Every grid point's decisions and per-row log-loss, computed once, so that the best
    point for any weighting of the rows (a bootstrap resample) costs a few matrix products.

    Stored narrow (leaf indices as int32, right levels as a count, losses as float32) and
    scored in blocks of grid points: at ``cv_max_products`` rows and five members that keeps
    the search near 0.2 GB, where float64 arrays and whole-grid temporaries took ~0.5 GB
    (``benchmarks/mix_memory.py``).
    """

    targets: np.ndarray
    decisions: np.ndarray  # grid points x rows: the argmax leaf
    level_hits: np.ndarray  # grid points x rows: how many levels the decision gets right
    losses: np.ndarray  # grid points x rows: -log p(true leaf)
    leaves: int
    depth: int

    @classmethod
    def of(cls, log_probs: Outputs, present: Outputs, targets: np.ndarray,
           names: tuple[str, ...], combos: np.ndarray, hierarchy: Hierarchy) -> GridOutcomes:
        """The mix of every grid point as ``combine`` makes it: the weighted mean of the
        members present, in float64, its argmax and its log-loss."""
        rows = len(targets)
        masked = torch.stack([torch.from_numpy(
            np.asarray(log_probs[n], dtype=np.float64) * present[n][:, None]) for n in names])
        shown = torch.from_numpy(np.stack([present[n] for n in names]).astype(np.float64))
        target_index = torch.from_numpy(targets).long()[:, None]
        true_nodes = [ancestor[targets] for ancestor in hierarchy.ancestors]
        decisions = np.empty((len(combos), rows), dtype=np.int32)
        level_hits = np.empty((len(combos), rows), dtype=np.uint8)
        losses = np.empty((len(combos), rows), dtype=np.float32)
        mixed = torch.empty(masked.shape[1:], dtype=torch.float64)
        for point, combo in enumerate(combos):
            mixed.zero_()
            for member in np.flatnonzero(combo):
                mixed.add_(masked[member], alpha=float(combo[member]))
            mass = (torch.from_numpy(np.asarray(combo, dtype=np.float64)) @ shown)
            mixed.div_(mass.clamp_min_(1e-12)[:, None])
            decided = mixed.argmax(1).numpy()
            decisions[point] = decided
            level_hits[point] = sum((ancestor[decided] == nodes) for ancestor, nodes in
                                    zip(hierarchy.ancestors, true_nodes, strict=True))
            losses[point] = (torch.logsumexp(mixed, 1) - mixed.gather(1, target_index)[:, 0]
                             ).numpy()
        return cls(targets, decisions, level_hits, losses, len(hierarchy.ancestors[-1]),
                   hierarchy.depth)

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """``level_score`` of every grid point with row i counted ``counts[i]`` times."""
        total = counts.sum()
        size = self.leaves
        support = np.bincount(self.targets, counts, size)
        seen = support > 0
        out = np.empty(len(self.decisions))
        for start in range(0, len(self.decisions), SCORE_BLOCK):
            block = self.decisions[start:start + SCORE_BLOCK]
            points = len(block)
            flat = block + size * np.arange(points)[:, None]
            repeated = np.broadcast_to(counts, block.shape)
            right = block == self.targets[None, :]
            guessed = np.bincount(flat.ravel(), repeated.ravel(), points * size)
            hits = np.bincount(flat[right], repeated[right], points * size)
            f1 = (2 * hits.reshape(points, size)[:, seen]
                  / (support[seen] + guessed.reshape(points, size)[:, seen])).mean(1)
            levels = self.level_hits[start:start + points] @ counts / (self.depth * total)
            out[start:start + points] = levels + f1
        return out

    def best(self, counts: np.ndarray) -> int:
        """The best-scoring grid point; among equal scores, the lowest log-loss."""
        scores = self.scores(counts)
        tied = np.flatnonzero(scores >= scores.max() - 1e-9)
        return int(tied[np.argmin(self.losses[tied].astype(np.float64) @ counts)])


def fit_level_weights(probabilities: np.ndarray, targets: np.ndarray, hierarchy: Hierarchy
                      ) -> tuple[float, ...]:
    """The upper levels' weight in the path decision that scores best on all levels; the
    plain argmax (weight 0) unless another does better by ``MIN_GAIN``."""
    if hierarchy.depth < 2:
        return ()
    flat = level_score(targets, probabilities.argmax(1), hierarchy)
    best_score = flat + MIN_GAIN
    best: tuple[float, ...] = ()
    for upper in UPPER_LEVEL_WEIGHTS[1:]:
        level_weights = tuple(upper_level_weights(hierarchy.depth, upper))
        score = level_score(targets, hierarchy.decide(probabilities, level_weights), hierarchy)
        if score > best_score:
            best_score, best = score, level_weights
    return best


def decide(log_probs: Outputs, present: Outputs, mix: Mix, classes: list[str],
           hierarchy: Hierarchy | None = None) -> tuple[list[str], np.ndarray]:
    """The mix's class and its confidence (the class's probability) for every row."""
    probabilities = mixed_probabilities(log_probs, present, mix.weights, mix.temperature)
    best = (hierarchy or Hierarchy.of(classes)).decide(probabilities, mix.level_weights)
    return [classes[i] for i in best], probabilities[np.arange(len(best)), best]


def rows(outputs: Outputs, index: np.ndarray) -> Outputs:
    return {k: v[index] for k, v in outputs.items()}
