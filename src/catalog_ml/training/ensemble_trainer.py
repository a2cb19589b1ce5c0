"""Training and evaluating the ensemble, step by step: partition the labelled products
(``splits``), predict each out of fold (``cross_validation``), learn the mix (``mixing``),
choose the review threshold (``thresholds``), fit the final members (``members``) and judge
them on the held-out products. This module holds the order of the steps and the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from catalog_ml.errors import LabelsError
from catalog_ml.models.confidence import as_meta
from catalog_ml.models.ensemble import MEMBERS, TEXT_MEMBERS, EnsembleModel, ProductBatch
from catalog_ml.models.inputs import PriceScale
from catalog_ml.training import evaluation, thresholds
from catalog_ml.training.baseline import NAME as BASELINE
from catalog_ml.training.baseline import baseline_predictions
from catalog_ml.training.confidence_fit import fit_confidence
from catalog_ml.training.cross_validation import nested_view_predictions, out_of_fold
from catalog_ml.training.members import fit_members
from catalog_ml.training.mixing import BAGS, Mix, decide, rows
from catalog_ml.training.options import EnsembleOptions
from catalog_ml.training.splits import back_off, partition

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
# the views compared in every evaluation: the whole ensemble against each member alone and the
# text members together; the text member alone is the frozen language model (MiniLM
# embeddings + logistic regression), the yardstick the ensemble has to beat
VIEWS: dict[str, tuple[str, ...]] = {
    "ensemble": MEMBERS, "fusion_net": ("fusion",), "text_only": TEXT_MEMBERS,
    "lexical_only": ("lexical",), "image_only": ("image_linear",),
    "baseline_minilm_lr": ("text_linear",), "text_tuned_only": ("text_tuned",)}


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
        raise LabelsError(f"training needs at least 2 categories; the labels hold {classes}")
    index = {c: i for i, c in enumerate(classes)}
    targets = np.asarray([index[c] for c in labels])
    # settled once for the whole protocol: the fold models and the final one have the same
    # members, so the mix learnt on the folds fits the model that is shipped
    options = replace(options, fusion=options.fusion.for_products(len(labels)))
    if options.fusion.tunes_text:
        say(f"text encoder fine-tuned as a member ({options.fusion.text_finetune_method}, "
            f"{options.fusion.text_finetune_epochs} epochs per fit)")
    split = partition(data.product_ids, labels, targets, options.folds, options.holdout_share,
                      options.cv_max_products, options.fusion.seed, data.always_train)
    common, dev, holdout = split.common, split.dev, split.holdout
    say(f"{len(labels)} labelled products, {len(classes)} categories; {options.folds}-fold "
        f"cross-validation over {len(common)} ({len(split.rare)} of rare categories predicted "
        f"out of fold for the review threshold only); final model on {len(dev)}, "
        f"{len(holdout)} held out")

    oof = out_of_fold(data.batch, data.baseline_text, labels, classes, targets, split,
                      options.folds, price_scale, encoder_version, options.fusion, say)
    tuning = common[~split.held[common]]  # out-of-fold rows the mix may learn from
    truth = [labels[i] for i in common]
    nested, view_weights = nested_view_predictions(oof, VIEWS, common, tuning, targets,
                                                   classes, options.folds)
    nested = {BASELINE: [oof.baseline[i] for i in common], **nested}
    per_fold = [np.flatnonzero(oof.fold_of[common] == fold) for fold in range(options.folds)]
    cross_validation = {
        view: evaluation.mean_and_spread([evaluation.level_metrics(
            [truth[i] for i in fold_rows], [guesses[i] for i in fold_rows])
            for fold_rows in per_fold])
        for view, guesses in nested.items()}
    pooled = {view: evaluation.level_metrics(truth, guesses) for view, guesses in nested.items()}

    mix = view_weights["ensemble"]
    # the threshold is chosen on every out-of-fold training product, the rare categories'
    # too (the night's products come from the whole long tail, not the stratifiable part),
    # and an answer is right only if it is the label as given: a parent that a rare leaf was
    # backed off to is not the product's category
    judged = np.flatnonzero((oof.fold_of >= 0) & ~split.held)
    predicted, probability = decide(rows(oof.log_probs, judged), rows(oof.present, judged),
                                    mix, classes)
    correct = np.asarray([p == data.labels[i] for p, i in zip(predicted, judged, strict=True)])
    support = np.bincount(targets, minlength=len(classes))
    confidence_calibration, confidence = fit_confidence(
        probability, np.asarray([index[p] for p in predicted]), correct, support,
        options.fusion.seed)
    threshold = thresholds.review_threshold(confidence, correct, options.review_precision,
                                            options.review_certainty)
    say(f"member weights {({k: round(v, 3) for k, v in mix.weights.items()})}, temperature "
        f"{mix.temperature:.3f}, level weights {list(mix.level_weights) or 'leaf only'}; "
        + thresholds.describe(threshold, options.review_precision, len(judged),
                              options.review_certainty))

    say(f"final fit on {len(dev)} products")
    members = fit_members(data.batch.subset(dev), [labels[i] for i in dev], classes,
                          price_scale, encoder_version, options.fusion, oof.fit_seconds)
    model = EnsembleModel(classes=classes, price_scale=price_scale,
                          encoder_version=encoder_version, members=members,
                          weights=mix.weights, temperature=mix.temperature,
                          level_weights=list(mix.level_weights), review_threshold=threshold,
                          confidence_calibration=confidence_calibration)
    report: dict[str, Any] = {
        "protocol": {
            "labelled": len(labels), "classes": len(classes), "training": len(dev),
            "holdout": len(holdout), "holdout_share": options.holdout_share,
            "folds": options.folds, "cross_validated": len(common),
            "rare_threshold_only": len(split.rare),
            "backed_off_to_parent": int(sum(a != b for a, b in zip(data.labels, labels,
                                                                    strict=True))),
            "review_precision_target": options.review_precision,
            "review_certainty": options.review_certainty, "mix_bags": BAGS,
            "text_finetune": options.fusion.text_finetune},
        "cross_validation": cross_validation,
        "cross_validation_pooled": pooled,
        "out_of_fold": {"ece": evaluation.expected_calibration_error(confidence, correct),
                        "review": thresholds.coverage_at(confidence, correct, threshold)},
        "weights": mix.weights, "temperature": mix.temperature,
        "confidence_calibration": as_meta(confidence_calibration),
        "level_weights": list(mix.level_weights), "review_threshold": threshold,
        "view_weights": {view: m.to_dict() for view, m in view_weights.items()},
        "cost": fit_costs(oof.fit_seconds, oof.fitted_products + len(dev)),
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


def fit_costs(fit_seconds: dict[str, float], fitted_products: int) -> dict[str, Any]:
    """Wall-clock seconds each view's members took to fit, over every fold and the final
    fit, and per 1,000 products fitted: the ablation's cost column (embedding excluded: the
    nightly embed step pays it once for every view)."""
    per_view = {view: sum(fit_seconds.get(m, 0.0) for m in names)
                for view, names in VIEWS.items() if any(m in fit_seconds for m in names)}
    per_view[BASELINE] = fit_seconds.get(BASELINE, 0.0)
    scale = 1000 / max(fitted_products, 1)
    return {"fitted_products": fitted_products,
            "member_seconds": {m: round(v, 2) for m, v in fit_seconds.items()},
            "view_seconds": {v: round(t, 2) for v, t in per_view.items()},
            "view_seconds_per_1000": {v: round(t * scale, 3) for v, t in per_view.items()}}


def evaluate_holdout(model: EnsembleModel, data: LabelledProducts, labels: list[str],
                     held_out: np.ndarray, view_weights: dict[str, Mix]
                     ) -> dict[str, Any]:
    batch = data.batch.subset(held_out)
    true = [labels[i] for i in held_out]
    log_probs, present, _ = model.members.outputs(batch)
    index = {c: i for i, c in enumerate(model.classes)}
    views, decisions = {}, {}
    for view, mix in view_weights.items():
        decisions[view], confidence = decide(log_probs, present, mix, model.classes)
        if view == "ensemble":  # the model's own view: the confidence its review cut reads
            confidence = model.confidence(confidence,
                                          np.asarray([index[c] for c in decisions[view]]))
        views[view] = evaluation.summary(true, decisions[view], confidence,
                                         model.review_threshold)
    predicted = decisions["ensemble"]  # the view whose weights the model carries
    return {**views["ensemble"], "views": views,
            "per_class": evaluation.per_class(true, predicted),
            "confusion": evaluation.confusion(true, predicted),
            "product_ids": [data.product_ids[i] for i in held_out]}


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
