"""Training and evaluating the ensemble: held-out split, k-fold out-of-fold predictions,
member weights, calibration, review threshold, then the final fit.

The held-out split is chosen by a hash of the product id, so it is the same products in every
retraining: a champion trained last month never saw this month's held-out products either,
which is what makes the A/B comparison on them fair. Classes with fewer examples than folds
stay in every training fold and are left out of the cross-validated figures (they cannot be
stratified); the evaluation says how many.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from catalog_ml.models.ensemble import (
    MEMBERS,
    TEXT_MEMBERS,
    EnsembleModel,
    Members,
    ProductBatch,
    combine,
    mixed_probabilities,
)
from catalog_ml.models.inputs import PriceScale
from catalog_ml.models.lexical import TfidfFeatures
from catalog_ml.models.linear import SoftmaxLinear, log_softmax
from catalog_ml.taxonomy import SEPARATOR
from catalog_ml.training import evaluation
from catalog_ml.training.baseline import NAME as BASELINE
from catalog_ml.training.baseline import baseline_predictions
from catalog_ml.training.trainer import TrainOptions, fit_temperature, train_classifier

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
LEXICAL_STRENGTH = 10.0  # inverse L2 strength of the TF-IDF logistic regression
TEXT_STRENGTH = 1.0
IMAGE_STRENGTH = 0.1
WEIGHT_STEPS = 10  # member weights on a grid of tenths
# the views compared in every evaluation: the whole ensemble against single modalities
VIEWS: dict[str, tuple[str, ...]] = {
    "ensemble": MEMBERS, "fusion_net": ("fusion",), "text_only": TEXT_MEMBERS,
    "image_only": ("image_linear",)}


@dataclass(frozen=True)
class EnsembleOptions:
    fusion: TrainOptions = field(default_factory=TrainOptions)
    folds: int = 5
    holdout_share: float = 0.15
    review_precision: float = 0.97
    min_leaf_examples: int = 2
    cv_max_products: int = 10_000  # above it, cross-validate a stratified sample (time)


@dataclass
class LabelledProducts:
    batch: ProductBatch
    labels: list[str]
    product_ids: list[str]
    always_train: np.ndarray | None = None  # e.g. reviewers' corrections: never held out
    titles: list[str] | None = None  # for the baseline; the documents when not given

    @property
    def baseline_text(self) -> list[str]:
        return self.titles if self.titles is not None else self.batch.documents


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


def fit_members(batch: ProductBatch, labels: list[str], classes: list[str],
                price_scale: PriceScale, encoder_version: str, options: TrainOptions) -> Members:
    index = {c: i for i, c in enumerate(classes)}
    targets = np.asarray([index[c] for c in labels])
    lexical_features = TfidfFeatures.fit(batch.documents)
    words = lexical_features.word.transform(batch.documents)
    fusion = train_classifier(batch.inputs.with_lexical(words), labels, price_scale,
                              encoder_version, options, classes=classes).network
    lexical = SoftmaxLinear.fit(lexical_features.combine(words, batch.documents), targets,
                                len(classes), LEXICAL_STRENGTH, False, options.seed)
    text = batch.inputs.text.numpy()
    text_linear = SoftmaxLinear.fit(text, targets, len(classes), TEXT_STRENGTH, True,
                                    options.seed)
    has_image = batch.inputs.present[:, 1].numpy()
    image_linear = None
    if len(np.unique(targets[has_image])) >= 2:
        image_linear = SoftmaxLinear.fit(batch.inputs.image.numpy()[has_image],
                                         targets[has_image], len(classes), IMAGE_STRENGTH,
                                         True, options.seed)
    return Members(fusion, lexical_features, lexical, text_linear, image_linear)


def _simplex(members: int, steps: int) -> list[tuple[float, ...]]:
    return [tuple(c / steps for c in combo)
            for combo in itertools.product(range(steps + 1), repeat=members)
            if sum(combo) == steps]


def fit_weights(log_probs: dict[str, np.ndarray], present: dict[str, np.ndarray],
                targets: np.ndarray, names: tuple[str, ...], steps: int = WEIGHT_STEPS
                ) -> tuple[dict[str, float], float]:
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
    for combo in _simplex(len(names), steps):
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


def _decide(log_probs: dict[str, np.ndarray], present: dict[str, np.ndarray],
            weights: dict[str, float], temperature: float, classes: list[str]
            ) -> tuple[list[str], np.ndarray]:
    probabilities = mixed_probabilities(log_probs, present, weights, temperature)
    best = probabilities.argmax(1)
    return [classes[i] for i in best], probabilities[np.arange(len(best)), best]


def _rows(outputs: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in outputs.items()}


def _cross_validate(data: LabelledProducts, labels: list[str], classes: list[str],
                    targets: np.ndarray, common: np.ndarray, rare: np.ndarray,
                    price_scale: PriceScale,
                    encoder_version: str, options: EnsembleOptions, say: Progress
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray,
                               list[str]]:
    """Out-of-fold log-probabilities of every member for the ``common`` rows, their fold, and
    the baseline's out-of-fold predictions."""
    log_probs: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    fold_of = np.full(len(labels), -1)
    baseline = [""] * len(labels)
    splitter = StratifiedKFold(options.folds, shuffle=True, random_state=options.fusion.seed)
    for fold, (train_part, test_part) in enumerate(splitter.split(common, targets[common])):
        train_rows = np.sort(np.concatenate([common[train_part], rare]))
        test_rows = common[test_part]
        started = time.monotonic()
        members = fit_members(data.batch.subset(train_rows), [labels[i] for i in train_rows],
                              classes, price_scale, encoder_version, options.fusion)
        fold_log_probs, fold_present, _ = members.outputs(data.batch.subset(test_rows))
        for name in fold_log_probs:
            log_probs.setdefault(name, np.zeros((len(labels), len(classes))))
            present.setdefault(name, np.zeros(len(labels), dtype=bool))
            log_probs[name][test_rows] = fold_log_probs[name]
            present[name][test_rows] = fold_present[name]
        fold_of[test_rows] = fold
        for row, guess in zip(test_rows, baseline_predictions(
                data.baseline_text, labels, train_rows, test_rows), strict=True):
            baseline[row] = guess
        say(f"fold {fold + 1}/{options.folds}: trained on {len(train_rows)}, predicted "
            f"{len(test_rows)} in {time.monotonic() - started:.0f} s")
    return log_probs, present, fold_of, baseline


def train_ensemble(data: LabelledProducts, price_scale: PriceScale, encoder_version: str,
                   options: EnsembleOptions, progress: Progress | None = None
                   ) -> tuple[EnsembleModel, dict[str, Any]]:
    """Cross-validate, learn the mix, fit the final members, evaluate on the held-out split.

    The folds cover every labelled product (the held-out ones included), so the reported
    cross-validation uses all labels. Member weights, temperature and review threshold are
    learnt only from the out-of-fold predictions of training products, and the final members
    train only on them: the held-out products judge a model that never learnt from them.
    Per-fold figures use weights learnt on the other folds (nested), so the choice of weights
    does not flatter them.
    """
    say = progress or log.info
    started = time.monotonic()
    labels = back_off(data.labels, options.min_leaf_examples)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError(f"training needs at least 2 categories; the labels hold {classes}")
    index = {c: i for i, c in enumerate(classes)}
    targets = np.asarray([index[c] for c in labels])
    held = holdout_mask(data.product_ids, labels, options.holdout_share, options.folds)
    if data.always_train is not None:
        held &= ~data.always_train
    dev = np.flatnonzero(~held)
    holdout = np.flatnonzero(held)
    counts = Counter(labels)
    is_common = np.asarray([counts[c] >= options.folds for c in labels])
    common = np.flatnonzero(is_common)
    rare = np.flatnonzero(~is_common)
    if len(common) > options.cv_max_products:
        # k folds of a large catalog cost k full trainings: a stratified sample tells as much
        common, _ = train_test_split(common, train_size=options.cv_max_products,
                                     stratify=targets[common],
                                     random_state=options.fusion.seed)
        common = np.sort(common)
    n_common_classes = len({labels[i] for i in common})
    if options.folds < 2 or n_common_classes < 2:
        raise ValueError(
            f"{options.folds}-fold cross-validation needs 2 or more categories with at least "
            f"{options.folds} labelled products each; these labels have {n_common_classes}. "
            "Label more products or lower cv_folds.")
    say(f"{len(labels)} labelled products, {len(classes)} categories; {options.folds}-fold "
        f"cross-validation over {len(common)} ({len(rare)} of rare categories always train); "
        f"final model on {len(dev)}, {len(holdout)} held out")

    log_probs, present, fold_of, baseline = _cross_validate(
        data, labels, classes, targets, common, rare, price_scale, encoder_version, options,
        say)
    tuning = common[~held[common]]  # out-of-fold rows the mix may learn from
    truth = [labels[i] for i in common]
    nested: dict[str, list[str]] = {BASELINE: [baseline[i] for i in common]}
    view_weights: dict[str, tuple[dict[str, float], float]] = {}
    for view, names in VIEWS.items():
        if not any(n in log_probs for n in names):
            continue
        guesses = dict.fromkeys(common.tolist(), "")
        for fold in range(options.folds):
            learn = tuning[fold_of[tuning] != fold]
            judge = common[fold_of[common] == fold]
            weights, temperature = fit_weights(_rows(log_probs, learn), _rows(present, learn),
                                               targets[learn], names)
            predicted, _ = _decide(_rows(log_probs, judge), _rows(present, judge), weights,
                                   temperature, classes)
            guesses.update(zip(judge.tolist(), predicted, strict=True))
        nested[view] = [guesses[i] for i in common.tolist()]
        view_weights[view] = fit_weights(_rows(log_probs, tuning), _rows(present, tuning),
                                         targets[tuning], names)
    per_fold = [np.flatnonzero(fold_of[common] == fold) for fold in range(options.folds)]
    cross_validation = {
        view: evaluation.mean_and_spread([evaluation.level_metrics(
            [truth[i] for i in rows], [guesses[i] for i in rows]) for rows in per_fold])
        for view, guesses in nested.items()}
    pooled = {view: evaluation.level_metrics(truth, guesses) for view, guesses in nested.items()}

    weights, temperature = view_weights["ensemble"]
    predicted, confidence = _decide(_rows(log_probs, tuning), _rows(present, tuning), weights,
                                    temperature, classes)
    correct = np.asarray([p == labels[i] for p, i in zip(predicted, tuning, strict=True)])
    threshold = evaluation.review_threshold(confidence, correct, options.review_precision)
    review = (f"needs_review below confidence {threshold:.3f}" if threshold <= 1 else
              f"no confidence is {options.review_precision:.0%} precise with 99 % certainty on "
              f"{len(tuning)} out-of-fold products, so every product goes to review: label "
              "more products")
    say(f"member weights {({k: round(v, 3) for k, v in weights.items()})}, temperature "
        f"{temperature:.3f}; {review}")

    say(f"final fit on {len(dev)} products")
    members = fit_members(data.batch.subset(dev), [labels[i] for i in dev], classes,
                          price_scale, encoder_version, options.fusion)
    model = EnsembleModel(classes=classes, price_scale=price_scale,
                          encoder_version=encoder_version, members=members, weights=weights,
                          temperature=temperature, review_threshold=threshold)
    report: dict[str, Any] = {
        "protocol": {
            "labelled": len(labels), "classes": len(classes), "training": len(dev),
            "holdout": len(holdout), "holdout_share": options.holdout_share,
            "folds": options.folds, "cross_validated": len(common),
            "rare_always_trained": len(rare),
            "backed_off_to_parent": int(sum(a != b for a, b in zip(data.labels, labels,
                                                                    strict=True))),
            "review_precision_target": options.review_precision},
        "cross_validation": cross_validation,
        "cross_validation_pooled": pooled,
        "out_of_fold": {"ece": evaluation.expected_calibration_error(confidence, correct),
                        "review": evaluation.coverage_at(confidence, correct, threshold)},
        "weights": weights, "temperature": temperature, "review_threshold": threshold,
        "view_weights": {v: {"weights": w, "temperature": t}
                         for v, (w, t) in view_weights.items()},
    }
    if len(holdout):
        report["holdout"] = evaluate_holdout(model, data, labels, holdout, view_weights)
        true = [labels[i] for i in holdout]
        report["holdout"]["views"][BASELINE] = {"levels": evaluation.level_metrics(
            true, baseline_predictions(data.baseline_text, labels, dev, holdout))}
    report["train_seconds"] = round(time.monotonic() - started, 1)
    model.metrics = headline(report)
    say(f"done in {report['train_seconds']:.0f} s")
    return model, report


def evaluate_holdout(model: EnsembleModel, data: LabelledProducts, labels: list[str],
                     rows: np.ndarray, view_weights: dict[str, tuple[dict[str, float], float]]
                     ) -> dict[str, Any]:
    batch = data.batch.subset(rows)
    true = [labels[i] for i in rows]
    log_probs, present, _ = model.members.outputs(batch)
    views, decisions = {}, {}
    for view, (weights, temperature) in view_weights.items():
        decisions[view], confidence = _decide(log_probs, present, weights, temperature,
                                              model.classes)
        views[view] = evaluation.summary(true, decisions[view], confidence,
                                         model.review_threshold)
    predicted = decisions["ensemble"]  # the view whose weights the model carries
    return {**views["ensemble"], "views": views,
            "per_class": evaluation.per_class(true, predicted),
            "confusion": evaluation.confusion(true, predicted),
            "product_ids": [data.product_ids[i] for i in rows]}


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The figures kept in the ``models`` table; the full report lives beside the artifact."""
    cv = report["cross_validation"]
    out: dict[str, Any] = {
        "cross_validation": {view: {level: {m: round(v["mean"], 4) for m, v in figures.items()}
                                    for level, figures in levels.items()}
                             for view, levels in cv.items()},
        "cross_validation_pooled": report["cross_validation_pooled"],
        "review_threshold": report["review_threshold"],
        "protocol": report["protocol"],
    }
    if "holdout" in report:
        h = report["holdout"]
        out["holdout"] = {"levels": h["levels"], "ece": h["ece"], "review": h["review"]}
    return out
