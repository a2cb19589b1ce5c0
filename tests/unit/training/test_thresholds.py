"""catalog_ml.training.thresholds: the review threshold holds its precision target."""

import numpy as np

from catalog_ml.training import thresholds


def test_review_threshold_keeps_the_accepted_set_above_the_target_precision():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0, 1, 50_000)
    correct = rng.uniform(0, 1, 50_000) < confidence  # calibrated: right with p = confidence
    threshold = thresholds.review_threshold(confidence, correct, target=0.97)
    figures = thresholds.coverage_at(confidence, correct, threshold)
    assert figures["precision"] >= 0.97
    assert 0.01 < figures["coverage"] < 0.1  # only the top few percent are that sure
    # a lower cut lets in more errors than the target allows
    looser = thresholds.coverage_at(confidence, correct, threshold - 0.1)
    assert looser["precision"] < 0.97


def test_when_no_cut_reaches_the_target_everything_goes_to_review():
    confidence = np.array([0.9, 0.8, 0.7])
    correct = np.array([False, True, False])
    threshold = thresholds.review_threshold(confidence, correct, target=0.97)
    assert threshold > 1 and thresholds.coverage_at(confidence, correct, threshold)[
        "coverage"] == 0


def small_catalog(rng, n):
    """Out-of-fold answers of a good model: 99 % right above confidence 0.2, a coin below."""
    confidence = rng.uniform(0, 1, n)
    correct = rng.uniform(0, 1, n) < np.where(confidence >= 0.2, 0.99, 0.5)
    return confidence, correct


def test_a_small_catalog_gets_most_of_its_products_accepted_and_the_target_holds():
    rng = np.random.default_rng(3)
    confidence, correct = small_catalog(rng, 500)  # ~700 labelled, 15 % held out, OOF
    threshold = thresholds.review_threshold(confidence, correct, target=0.97)
    assert thresholds.coverage_at(confidence, correct, threshold)["coverage"] >= 0.75
    # tomorrow's products from the same model: the accepted ones stay above the target
    for _ in range(50):
        fresh = thresholds.coverage_at(*small_catalog(rng, 2000), threshold)
        assert fresh["precision"] >= 0.97
    # asking for 99 % certainty on the same sample accepts less
    strict = thresholds.review_threshold(confidence, correct, target=0.97, certainty=0.99)
    assert strict > threshold
