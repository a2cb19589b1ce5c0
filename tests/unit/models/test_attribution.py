"""catalog_ml.models.attribution: the modalities' shares of each decision."""

import numpy as np

from catalog_ml.models.attribution import modality_shares


def test_the_member_that_carried_the_margin_gets_the_share():
    # class 0 chosen over class 1: the image member argues for it, the text member is neutral
    log_probs = {"lexical": np.log(np.asarray([[0.5, 0.5]])),
                 "image_linear": np.log(np.asarray([[0.9, 0.1]])),
                 "fusion": np.log(np.asarray([[0.6, 0.4]]))}
    present = {name: np.ones(1, bool) for name in log_probs}
    attention = np.asarray([[0.5, 0.25, 0.25]])
    shares = modality_shares(log_probs, present, {"lexical": 0.5, "image_linear": 0.3,
                                                  "fusion": 0.2}, np.asarray([0]),
                             np.asarray([1]), attention)
    image_term, fusion_term = 0.3 * np.log(9), 0.2 * np.log(1.5)
    total = image_term + fusion_term
    expected = [fusion_term / total * 0.5, image_term / total + fusion_term / total * 0.25,
                fusion_term / total * 0.25]
    assert np.allclose(shares, [expected]) and np.isclose(shares.sum(), 1)


def test_an_absent_member_gets_nothing_and_a_contrary_decision_falls_back_to_weights():
    log_probs = {"lexical": np.log(np.asarray([[0.4, 0.6]])),
                 "image_linear": np.log(np.asarray([[0.9, 0.1]]))}
    present = {"lexical": np.ones(1, bool), "image_linear": np.zeros(1, bool)}
    shares = modality_shares(log_probs, present, {"lexical": 0.5, "image_linear": 0.5},
                             np.asarray([0]), np.asarray([1]), np.asarray([[1.0, 0.0, 0.0]]))
    assert np.allclose(shares, [[1.0, 0.0, 0.0]])  # only the text was there
