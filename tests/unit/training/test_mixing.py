"""catalog_ml.training.mixing: member weights learnt from out-of-fold predictions."""

import numpy as np

from catalog_ml.training.mixing import fit_weights


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
