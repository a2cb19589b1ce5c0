"""Evaluation figures: per level, calibration, the review threshold and its coverage."""

import numpy as np
import pytest

from catalog_ml.training import evaluation


def test_level_metrics_score_each_level_of_the_path():
    metrics = evaluation.level_metrics(["A > x", "A > y", "B > z"], ["A > y", "A > y", "B > z"])
    assert metrics["level_1"]["accuracy"] == 1.0
    assert metrics["level_2"]["accuracy"] == pytest.approx(2 / 3)
    # x is never predicted (F1 0), y has precision 1/2 (F1 2/3), z is right (F1 1)
    assert metrics["level_2"]["macro_f1"] == pytest.approx((0 + 2 / 3 + 1) / 3)


def test_a_back_off_to_the_parent_counts_right_above_the_leaf_only():
    metrics = evaluation.level_metrics(["A > x"], ["A"])
    assert metrics["level_1"]["accuracy"] == 1.0 and metrics["level_2"]["accuracy"] == 0.0


def test_calibration_error_is_small_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.3, 1, 20_000)
    correct = rng.uniform(0, 1, 20_000) < confidence
    assert evaluation.expected_calibration_error(confidence, correct) < 0.02
    assert evaluation.expected_calibration_error(np.full(20_000, 0.99), correct) > 0.2


def test_per_class_and_confusion_agree_with_the_predictions():
    true, predicted = ["a", "a", "b", "c"], ["a", "b", "b", "b"]
    classes = {c["class"]: c for c in evaluation.per_class(true, predicted)}
    assert classes["a"]["recall"] == 0.5 and classes["b"]["precision"] == pytest.approx(1 / 3)
    matrix = evaluation.confusion(true, predicted)
    assert matrix["labels"] == ["a", "b", "c"]
    assert matrix["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_mean_and_spread_over_folds():
    folds = [{"level_1": {"accuracy": 0.8}}, {"level_1": {"accuracy": 1.0}}]
    figures = evaluation.mean_and_spread(folds)["level_1"]["accuracy"]
    assert figures["mean"] == pytest.approx(0.9) and figures["std"] == pytest.approx(0.1)
