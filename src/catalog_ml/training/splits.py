"""Which labelled products train, which are held out, which can be cross-validated.

The held-out split is chosen by a hash of the product id, so it is the same products in every
retraining: a champion trained last month never saw this month's held-out products either,
which is what makes the A/B comparison on them fair. Classes with fewer examples than folds
stay in every training fold and are left out of the cross-validated figures (they cannot be
stratified); the evaluation says how many.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from catalog_ml.errors import LabelsError
from catalog_ml.taxonomy import SEPARATOR

CATEGORY_FLOOR = 50  # a sample keeps up to this many of every category, however small


def back_off(labels: list[str], min_examples: int) -> list[str]:
    """Leaves with fewer than ``min_examples`` labelled products are learnt as their parent,
    so the model answers a path it can support instead of guessing a leaf it saw once."""
    counts = Counter(labels)
    out = []
    for label in labels:
        parts = label.split(SEPARATOR)
        out.append(SEPARATOR.join(parts[:-1])
                   if counts[label] < min_examples and len(parts) > 1 else label)
    return out


def in_holdout(product_id: str, share: float) -> bool:
    digest = hashlib.sha256(product_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def holdout_mask(product_ids: list[str], labels: list[str], share: float, folds: int
                 ) -> np.ndarray:
    """Held-out products by id hash; classes too small to spare any stay out of it."""
    counts = Counter(labels)
    return np.asarray([in_holdout(p, share) and counts[c] > max(folds, 2)
                       for p, c in zip(product_ids, labels, strict=True)])


@dataclass(frozen=True)
class Partition:
    """Row indices: ``held`` is a mask; ``dev`` trains the final model, ``holdout`` judges it;
    ``common`` rows are cross-validated, ``rare`` ones train in every fold."""

    held: np.ndarray
    dev: np.ndarray
    holdout: np.ndarray
    common: np.ndarray
    rare: np.ndarray


def partition(product_ids: list[str], labels: list[str], targets: np.ndarray, folds: int,
              holdout_share: float, cv_max_products: int, seed: int,
              always_train: np.ndarray | None = None) -> Partition:
    held = holdout_mask(product_ids, labels, holdout_share, folds)
    if always_train is not None:
        held &= ~always_train
    counts = Counter(labels)
    is_common = np.asarray([counts[c] >= folds for c in labels])
    common = np.flatnonzero(is_common)
    if len(common) > cv_max_products:
        # k folds of a large catalog cost k full trainings: a stratified sample tells as much
        common, _ = train_test_split(common, train_size=cv_max_products,
                                     stratify=targets[common], random_state=seed)
        common = np.sort(common)
    n_common_classes = len({labels[i] for i in common})
    if folds < 2 or n_common_classes < 2:
        raise LabelsError(
            f"{folds}-fold cross-validation needs 2 or more categories with at least "
            f"{folds} labelled products each; these labels have {n_common_classes} (of "
            f"{len(counts)} categories, the largest with {max(counts.values(), default=0)} "
            "products). Label more products or lower cv_folds (`catalog-ml train --folds`).")
    return Partition(held, np.flatnonzero(~held), np.flatnonzero(held), common,
                     np.flatnonzero(~is_common))


def _hash_rank(product_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"sample:" + product_id.encode()).digest()[:8], "big")


def stratified_cap(product_ids: list[str], labels: list[str], cap: int,
                   first: np.ndarray | None = None, floor: int = CATEGORY_FLOOR) -> np.ndarray:
    """A mask of at most about ``cap`` products (more only where every category's floor
    needs it): each category keeps a share proportional to its size, and at least ``floor``
    (or all it has). Within a category, ``first`` rows (reviewers' corrections) come first,
    then the lowest hash of the product id, so the sample is the same products from one
    retraining to the next and a new label moves it by one product, not all of them."""
    n = len(labels)
    if n <= cap:
        return np.ones(n, dtype=bool)
    by_category: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        by_category.setdefault(label, []).append(row)
    sizes = {c: len(rows) for c, rows in by_category.items()}

    def quotas(share: float) -> dict[str, int]:
        return {c: min(size, max(floor, int(size * share))) for c, size in sizes.items()}

    low, high = 0.0, 1.0  # the largest share whose quotas fit the cap
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if sum(quotas(middle).values()) <= cap else (low, middle)
    keep = np.zeros(n, dtype=bool)
    priority = np.zeros(n, dtype=bool) if first is None else np.asarray(first, dtype=bool)
    for category, quota in quotas(low).items():
        rows = sorted(by_category[category],
                      key=lambda r: (not priority[r], _hash_rank(product_ids[r])))
        keep[rows[:quota]] = True
    return keep
