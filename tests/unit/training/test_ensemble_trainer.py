"""catalog_ml.training.ensemble_trainer: members, learned weights, cross-validation and holdout."""

import numpy as np
import pytest

from catalog_ml.reports.evaluation_page import evaluation_html
from catalog_ml.training.ensemble_trainer import (
    EnsembleOptions,
    back_off,
    fit_weights,
    holdout_mask,
    train_ensemble,
)
from catalog_ml.training.trainer import TrainOptions
from tests.unit.synthetic import labelled


def test_the_report_has_cross_validation_per_view_a_holdout_and_a_threshold(trained):
    data, _, model, report = trained
    views = {"ensemble", "fusion_net", "text_only", "image_only", "baseline_tfidf_lr"}
    assert set(report["cross_validation"]) == set(report["cross_validation_pooled"]) == views
    assert set(report["holdout"]["views"]) == views
    leaf = report["cross_validation"]["ensemble"]["level_2"]["accuracy"]
    assert len(leaf["folds"]) == 3 and 0.6 < leaf["mean"] <= 1.0
    protocol = report["protocol"]
    assert protocol["training"] + protocol["holdout"] == len(data.labels)
    assert report["holdout"]["n"] == protocol["holdout"] > 0
    assert sum(model.weights.values()) == pytest.approx(1.0)
    assert model.review_threshold == report["review_threshold"]
    assert "<svg" in evaluation_html(report) and "Confusion" in evaluation_html(report)


def test_the_ensemble_is_at_least_as_good_as_its_best_single_view(trained):
    cv = trained[3]["cross_validation"]
    ensemble = cv["ensemble"]["level_2"]["accuracy"]["mean"]
    assert ensemble >= max(cv[v]["level_2"]["accuracy"]["mean"] for v in cv) - 0.02
    # the titles name the leaf only 60 % of the time: the embeddings carry the rest
    assert ensemble > cv["baseline_tfidf_lr"]["level_2"]["accuracy"]["mean"] + 0.05


def test_learned_weights_favour_the_member_that_is_right():
    rng = np.random.default_rng(0)
    targets = rng.integers(3, size=600)
    good = np.log(np.full((600, 3), 0.1))
    good[np.arange(600), targets] = np.log(0.8)
    noise = np.log(rng.dirichlet(np.ones(3), size=600))
    present = {"good": np.ones(600, bool), "noise": np.ones(600, bool)}
    weights, temperature = fit_weights({"good": good, "noise": noise}, present, targets,
                                       ("good", "noise"))
    assert weights["good"] > 0.8 and temperature > 0


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


def test_a_large_catalog_is_cross_validated_on_a_stratified_sample():
    data, scale = labelled(240, seed=2)
    options = EnsembleOptions(fusion=TrainOptions(epochs=3, width=16), folds=3,
                              cv_max_products=120)
    _, report = train_ensemble(data, scale, "enc-v1", options)
    assert report["protocol"]["cross_validated"] == 120
    assert report["protocol"]["training"] + report["protocol"]["holdout"] == 240
