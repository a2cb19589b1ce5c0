"""Stratified k-fold cross-validation: every member's out-of-fold predictions, and each
view's nested predictions (its mix learnt on the other folds, so the choice of weights does
not flatter the figures).

Products of categories too rare to stratify (fewer than ``folds``) are spread over the folds
too, so each is predicted by a model that saw at most the others of its category, and a
singleton by one that never saw its category: tomorrow's night holds such products, and the
review threshold chosen without them was too sure. On a 700-product text-only fashion catalog
(``benchmarks/unseen_catalog.py``), 15 % of the unseen products were of categories with fewer
than 10 labels, and the threshold learnt on the common ones alone accepted them at 0.87-0.91
precision. They do not enter the cross-validated figures, which stay stratified.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from catalog_ml.models.ensemble import ProductBatch
from catalog_ml.models.hierarchy import Hierarchy
from catalog_ml.models.inputs import PriceScale
from catalog_ml.training.baseline import NAME as BASELINE
from catalog_ml.training.baseline import baseline_predictions
from catalog_ml.training.members import fit_members, timed
from catalog_ml.training.mixing import Mix, Outputs, decide, fit_weights, rows
from catalog_ml.training.options import TrainOptions
from catalog_ml.training.splits import Partition

Progress = Callable[[str], None]


def spread_over_folds(rare: np.ndarray, targets: np.ndarray, folds: int) -> np.ndarray:
    """A fold for each rare row: a category's rows go to consecutive folds, so no fold holds
    two of a category with fewer rows than folds, and each fold model sees the rest of it."""
    order = np.lexsort((rare, targets[rare]))
    fold = np.empty(len(rare), dtype=int)
    fold[order] = np.arange(len(rare)) % folds
    return fold


@dataclass
class OutOfFold:
    """For every row: each member's log-probabilities and presence, the fold that predicted
    it (-1: never predicted) and the baseline's guess."""

    log_probs: Outputs
    present: Outputs
    fold_of: np.ndarray
    baseline: list[str]
    fit_seconds: dict[str, float]  # per member, over all folds
    fitted_products: int  # products the folds trained on, summed


def out_of_fold(batch: ProductBatch, baseline_text: list[str], labels: list[str],
                classes: list[str], targets: np.ndarray, split: Partition, folds: int,
                price_scale: PriceScale, encoder_version: str, options: TrainOptions,
                say: Progress) -> OutOfFold:
    log_probs: Outputs = {}
    present: Outputs = {}
    fold_of = np.full(len(labels), -1)
    baseline = [""] * len(labels)
    costs: dict[str, float] = {}
    fitted = 0
    common, rare = split.common, split.rare
    rare_fold = spread_over_folds(rare, targets, folds)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=options.seed)
    for fold, (train_part, test_part) in enumerate(splitter.split(common, targets[common])):
        train_rows = np.sort(np.concatenate([common[train_part], rare[rare_fold != fold]]))
        test_rows = np.sort(np.concatenate([common[test_part], rare[rare_fold == fold]]))
        started = time.monotonic()
        members = fit_members(batch.subset(train_rows), [labels[i] for i in train_rows],
                              classes, price_scale, encoder_version, options, costs)
        fitted += len(train_rows)
        fold_log_probs, fold_present, _ = members.outputs(batch.subset(test_rows))
        for name in fold_log_probs:
            log_probs.setdefault(name, np.zeros((len(labels), len(classes))))
            present.setdefault(name, np.zeros(len(labels), dtype=bool))
            log_probs[name][test_rows] = fold_log_probs[name]
            present[name][test_rows] = fold_present[name]
        fold_of[test_rows] = fold
        with timed(costs, BASELINE):
            guesses = baseline_predictions(baseline_text, labels, train_rows, test_rows)
        for row, guess in zip(test_rows, guesses, strict=True):
            baseline[row] = guess
        say(f"fold {fold + 1}/{folds}: trained on {len(train_rows)}, predicted "
            f"{len(test_rows)} in {time.monotonic() - started:.0f} s")
    return OutOfFold(log_probs, present, fold_of, baseline, costs, fitted)


def nested_view_predictions(oof: OutOfFold, views: dict[str, tuple[str, ...]],
                            common: np.ndarray, tuning: np.ndarray, targets: np.ndarray,
                            classes: list[str], folds: int
                            ) -> tuple[dict[str, list[str]], dict[str, Mix]]:
    """Per view: its predictions for the ``common`` rows, each fold judged by a mix learnt
    on the ``tuning`` rows of the other folds; and the view's mix learnt on all of them."""
    nested: dict[str, list[str]] = {}
    view_weights: dict[str, Mix] = {}
    hierarchy = Hierarchy.of(classes)
    for view, names in views.items():
        if not any(n in oof.log_probs for n in names):
            continue
        guesses = dict.fromkeys(common.tolist(), "")
        for fold in range(folds):
            learn = tuning[oof.fold_of[tuning] != fold]
            judge = common[oof.fold_of[common] == fold]
            mix = fit_weights(rows(oof.log_probs, learn), rows(oof.present, learn),
                              targets[learn], names, hierarchy)
            predicted, _ = decide(rows(oof.log_probs, judge), rows(oof.present, judge), mix,
                                  classes, hierarchy)
            guesses.update(zip(judge.tolist(), predicted, strict=True))
        nested[view] = [guesses[i] for i in common.tolist()]
        view_weights[view] = fit_weights(rows(oof.log_probs, tuning), rows(oof.present, tuning),
                                         targets[tuning], names, hierarchy)
    return nested, view_weights
