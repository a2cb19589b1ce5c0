"""Hierarchy-consistent decisions: the leaf whose whole path scores best, not the likeliest leaf.

The members score leaves (full category paths). The probability of a category at an upper
level is the sum over its leaves, so when the mass is spread over siblings the likeliest leaf
can sit under a parent that is not the likeliest parent. The decision here maximises a
weighted sum of the path's probabilities at every level, ``sum_k w_k P(ancestor_k(leaf))``:
with weight only on the deepest level it is the plain argmax; with weight on the upper
levels it trades a little leaf accuracy for correct parents. Either way the answer is one
leaf, so its levels never contradict each other. The weights are learnt on out-of-fold
predictions (``catalog_ml.training.mixing``) and stored with the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from catalog_ml.taxonomy import levels, truncate


@dataclass(frozen=True)
class Hierarchy:
    """For each level (1 = the top): every class's ancestor there, as a node index."""

    ancestors: tuple[np.ndarray, ...]  # per level: (classes,) node index
    sizes: tuple[int, ...]  # per level: how many nodes

    @classmethod
    def of(cls, classes: Sequence[str]) -> Hierarchy:
        depth = max((len(levels(c)) for c in classes), default=1)
        ancestors, sizes = [], []
        for level in range(1, depth + 1):
            names = [truncate(c, level) for c in classes]
            index = {n: i for i, n in enumerate(dict.fromkeys(names))}
            ancestors.append(np.asarray([index[n] for n in names]))
            sizes.append(len(index))
        return cls(tuple(ancestors), tuple(sizes))

    @property
    def depth(self) -> int:
        return len(self.ancestors)

    def marginals(self, probabilities: np.ndarray, level: int) -> np.ndarray:
        """(n, nodes at ``level``): each node's probability, the sum over its leaves."""
        ancestor = self.ancestors[level - 1]
        membership = sparse.csr_matrix(
            (np.ones(len(ancestor)), (np.arange(len(ancestor)), ancestor)),
            shape=(len(ancestor), self.sizes[level - 1]))
        return np.asarray(probabilities @ membership)

    def path_scores(self, probabilities: np.ndarray, level_weights: Sequence[float]
                    ) -> np.ndarray:
        """(n, classes): each leaf's weighted sum of its path's probabilities."""
        scores = np.zeros_like(probabilities)
        for level, weight in enumerate(level_weights, start=1):
            if weight:
                scores += weight * self.marginals(probabilities, level)[
                    :, self.ancestors[level - 1]]
        return scores

    def decide(self, probabilities: np.ndarray, level_weights: Sequence[float] | None
               ) -> np.ndarray:
        """The chosen class per row: the argmax of the path scores (of the probabilities
        when no level weights are given)."""
        if not level_weights or not any(level_weights[:-1]):
            return probabilities.argmax(1)
        return self.path_scores(probabilities, level_weights).argmax(1)


def upper_level_weights(depth: int, upper: float) -> list[float]:
    """Weight 1 on the deepest level and ``upper`` on each level above it."""
    return [upper] * (depth - 1) + [1.0]
