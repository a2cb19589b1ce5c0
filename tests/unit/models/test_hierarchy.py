"""catalog_ml.models.hierarchy: the best path over all levels, leaves of any depth."""

import numpy as np

from catalog_ml.models.hierarchy import Hierarchy, upper_level_weights

CLASSES = ["A > a1 > x", "A > a1 > y", "A > a2", "B > b1 > z"]


def test_ancestors_and_marginals_for_leaves_at_different_depths():
    hierarchy = Hierarchy.of(CLASSES)
    assert hierarchy.depth == 3 and hierarchy.sizes == (2, 3, 4)
    probabilities = np.asarray([[0.2, 0.2, 0.1, 0.5]])
    assert np.allclose(hierarchy.marginals(probabilities, 1), [[0.5, 0.5]])
    assert np.allclose(hierarchy.marginals(probabilities, 2), [[0.4, 0.1, 0.5]])
    assert np.allclose(hierarchy.marginals(probabilities, 3), probabilities)


def test_the_path_decision_can_overrule_the_likeliest_leaf():
    hierarchy = Hierarchy.of(CLASSES)
    probabilities = np.asarray([[0.24, 0.23, 0.23, 0.30]])
    assert hierarchy.decide(probabilities, None).tolist() == [3]
    assert hierarchy.decide(probabilities, upper_level_weights(3, 0.0)).tolist() == [3]
    # A holds 0.70 and A > a1 0.47: with the upper levels counted, A > a1 > x wins
    assert hierarchy.decide(probabilities, upper_level_weights(3, 1.0)).tolist() == [0]
    scores = hierarchy.path_scores(probabilities, [1.0, 1.0, 1.0])
    assert np.isclose(scores[0, 0], 0.70 + 0.47 + 0.24)


def test_a_flat_taxonomy_has_one_level():
    hierarchy = Hierarchy.of(["x", "y"])
    assert hierarchy.depth == 1
    assert hierarchy.decide(np.asarray([[0.4, 0.6]]), ()).tolist() == [1]
