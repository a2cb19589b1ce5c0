"""The review decision of the classify step: a confidence that is not a number is never
auto-accepted (NaN < threshold is false, so a plain comparison would accept it)."""

import numpy as np

from catalog_ml.pipeline.classify import needs_review


def test_nan_and_infinite_confidences_always_go_to_review():
    confidence = np.array([0.99, 0.5, np.nan, np.inf, -np.inf, 0.9])
    assert needs_review(confidence, 0.9) == [False, True, True, True, True, False]


def test_a_threshold_above_one_sends_everything_to_review():
    assert needs_review(np.array([1.0, 0.999]), 1.0000001) == [True, True]
