"""catalog_ml.training.confidence_fit: the confidence fitted on out-of-fold answers."""

import numpy as np

from catalog_ml.training.confidence_fit import fit_confidence


def answers(n: int = 2000, seed: int = 0):
    """Out-of-fold answers where a category with few labels is wrong far more often than
    its probability says, as the long tail is."""
    rng = np.random.default_rng(seed)
    support = np.array([2, 3, 60, 90, 120])
    chosen = rng.choice(5, size=n, p=[0.1, 0.1, 0.25, 0.25, 0.3])
    probability = rng.uniform(0.5, 1.0, size=n)
    right_rate = np.where(support[chosen] < 10, probability - 0.3, probability)
    correct = rng.random(n) < right_rate
    return probability, chosen, correct, support


def test_answers_in_a_sparsely_labelled_category_get_less_confidence():
    probability, chosen, correct, support = answers()
    calibration, cross_fitted = fit_confidence(probability, chosen, correct, support, seed=0)
    assert calibration is not None and calibration.support_coef > 0
    assert calibration.support == tuple(support)
    sure = probability > 0.95
    rare, common = sure & (chosen < 2), sure & (chosen >= 2)
    assert cross_fitted[rare].mean() < cross_fitted[common].mean() - 0.1
    # closer to how often they are right than the probability was
    assert abs(cross_fitted[rare].mean() - correct[rare].mean()) < abs(
        probability[rare].mean() - correct[rare].mean())


def test_the_cross_fitted_confidence_differs_from_the_final_fit():
    probability, chosen, correct, support = answers(600, seed=3)
    calibration, cross_fitted = fit_confidence(probability, chosen, correct, support, seed=0)
    assert calibration is not None
    final = calibration.apply(probability, chosen)
    assert not np.allclose(final, cross_fitted)  # each row judged without its own fold
    assert np.corrcoef(final, cross_fitted)[0, 1] > 0.9


def test_too_few_errors_to_fit_keep_the_probability():
    probability = np.linspace(0.5, 1.0, 200)
    correct = np.ones(200, dtype=bool)
    correct[:3] = False  # three errors: fewer than one a fold
    calibration, confidence = fit_confidence(probability, np.zeros(200, dtype=int), correct,
                                             np.array([200]), seed=0)
    assert calibration is None
    np.testing.assert_array_equal(confidence, probability)
