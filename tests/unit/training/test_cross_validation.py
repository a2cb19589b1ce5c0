"""catalog_ml.training.cross_validation: out-of-fold predictions and nested view figures."""

from __future__ import annotations

import numpy as np

from catalog_ml.training.cross_validation import (
    nested_view_predictions,
    out_of_fold,
    spread_over_folds,
)
from catalog_ml.training.options import TrainOptions
from catalog_ml.training.splits import partition
from tests.unit.synthetic import labelled


def test_every_common_product_is_predicted_once_by_a_model_that_did_not_see_it():
    data, scale = labelled(150, seed=6)
    classes = sorted(set(data.labels))
    targets = np.asarray([classes.index(c) for c in data.labels])
    split = partition(data.product_ids, data.labels, targets, 3, 0.15, 10_000, 0)
    said: list[str] = []
    oof = out_of_fold(data.batch, data.baseline_text, data.labels, classes, targets, split, 3,
                      scale, "enc-v1", TrainOptions(epochs=3, width=16), said.append)
    assert sorted(set(oof.fold_of[split.common])) == [0, 1, 2]
    assert [m.split(":")[0] for m in said] == ["fold 1/3", "fold 2/3", "fold 3/3"]
    assert all(oof.baseline[i] in classes for i in split.common)
    tuning = split.common[~split.held[split.common]]
    nested, weights = nested_view_predictions(oof, {"lexical_only": ("lexical",)},
                                              split.common, tuning, targets, classes, 3)
    assert len(nested["lexical_only"]) == len(split.common)
    assert weights["lexical_only"].weights == {"lexical": 1.0}


def test_rare_products_are_spread_so_no_fold_holds_two_of_a_small_category():
    targets = np.asarray([0] * 4 + [1] + [2] * 3 + [3] * 10)
    rare = np.arange(8)
    fold = spread_over_folds(rare, targets, 5)
    assert set(fold) <= set(range(5))
    for category in (0, 1, 2):
        of_it = fold[targets[rare] == category]
        assert len(set(of_it)) == len(of_it)


def test_a_rare_product_is_predicted_by_a_model_that_did_not_see_it():
    data, scale = labelled(150, seed=6)
    data.labels[0] = "Home > Clock"  # a singleton: its fold model never saw the category
    data.labels[1] = data.labels[2] = "Living > Mirror"
    classes = sorted(set(data.labels))
    targets = np.asarray([classes.index(c) for c in data.labels])
    split = partition(data.product_ids, data.labels, targets, 3, 0.15, 10_000, 0)
    assert sorted(split.rare) == [0, 1, 2]
    oof = out_of_fold(data.batch, data.baseline_text, data.labels, classes, targets, split, 3,
                      scale, "enc-v1", TrainOptions(epochs=3, width=16), lambda _: None)
    assert (oof.fold_of >= 0).all()
    assert oof.fold_of[1] != oof.fold_of[2]
    clock = classes.index("Home > Clock")
    assert oof.log_probs["lexical"][0, clock] < -20  # unseen: never this member's answer
    mirror = classes.index("Living > Mirror")
    assert oof.log_probs["lexical"][1, mirror] > -20  # the other mirror trained its fold
