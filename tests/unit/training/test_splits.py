"""catalog_ml.training.splits: held-out, cross-validated and always-trained products."""

from collections import Counter

import numpy as np
import pytest

from catalog_ml.errors import LabelsError
from catalog_ml.training.splits import back_off, holdout_mask, partition, stratified_cap


def test_rare_leaves_back_off_to_their_parent():
    labels = ["A > x"] * 3 + ["A > y"] + ["B"]
    assert back_off(labels, 2) == ["A > x"] * 3 + ["A", "B"]
    assert back_off(labels, 1) == labels


def test_the_holdout_is_the_same_products_whatever_else_is_labelled():
    ids = [f"sku-{i}" for i in range(2000)]
    labels = ["A"] * 2000
    first = holdout_mask(ids, labels, 0.15, 5)
    again = holdout_mask(ids[:1000], labels[:1000], 0.15, 5)
    assert 0.12 < first.mean() < 0.18
    assert (first[:1000] == again).all()
    assert not holdout_mask(ids[:3], ["A", "B", "C"], 0.99, 5).any()  # rare classes stay


def test_a_partition_keeps_reviewed_products_in_training_and_samples_large_catalogs():
    ids = [f"sku-{i}" for i in range(600)]
    labels = ["A"] * 300 + ["B"] * 295 + ["C"] * 5
    targets = np.asarray([{"A": 0, "B": 1, "C": 2}[c] for c in labels])
    reviewed = np.zeros(600, bool)
    reviewed[:100] = True
    split = partition(ids, labels, targets, 10, 0.2, 200, 0, reviewed)
    assert not split.held[:100].any() and split.held.any()
    assert len(split.common) == 200 and set(split.rare) == set(range(595, 600))
    assert sorted([*split.dev, *split.holdout]) == list(range(600))
    with pytest.raises(LabelsError, match="lower cv_folds"):
        partition(ids[:6], ["A"] * 3 + ["B"] * 3, targets[:6], 5, 0.2, 200, 0)


def test_a_capped_sample_keeps_every_category_and_its_share():
    ids = [f"sku-{i}" for i in range(10_000)]
    labels = ["Big"] * 9_000 + ["Mid"] * 970 + ["Tiny"] * 30
    keep = stratified_cap(ids, labels, 1_000)
    kept = Counter(label for label, k in zip(labels, keep, strict=True) if k)
    assert sum(kept.values()) <= 1_000
    assert kept["Tiny"] == 30  # below the floor: all of it
    assert kept["Mid"] >= 50 and 0.85 < kept["Big"] / 9_000 * 10_000 / 1_000 < 1.0
    assert stratified_cap(ids[:500], labels[:500], 1_000).all()


def test_the_sample_is_stable_and_reviewed_products_come_first():
    ids = [f"sku-{i}" for i in range(3_000)]
    labels = ["A"] * 2_000 + ["B"] * 1_000
    reviewed = np.zeros(3_000, bool)
    reviewed[[5, 2_500]] = True
    first = stratified_cap(ids, labels, 300, reviewed)
    assert first[5] and first[2_500]
    # one more labelled product moves the sample by at most a few products
    again = stratified_cap([*ids, "sku-new"], [*labels, "A"], 300, np.append(reviewed, False))
    assert (first != again[:3_000]).sum() <= 4
