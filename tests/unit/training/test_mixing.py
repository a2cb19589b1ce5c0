"""catalog_ml.training.mixing: member weights, temperature and level weights learnt from
out-of-fold predictions, scored on every level."""

import numpy as np
from sklearn.metrics import f1_score

from catalog_ml.models.hierarchy import Hierarchy
from catalog_ml.training.mixing import Mix, decide, fit_level_weights, fit_weights, macro_f1

CLASSES = ["A > a1", "A > a2", "B > b1"]


def test_learned_weights_favour_the_member_that_is_right():
    rng = np.random.default_rng(0)
    targets = rng.integers(3, size=600)
    good = np.log(np.full((600, 3), 0.1))
    good[np.arange(600), targets] = np.log(0.8)
    noise = np.log(rng.dirichlet(np.ones(3), size=600))
    present = {"good": np.ones(600, bool), "noise": np.ones(600, bool)}
    mix = fit_weights({"good": good, "noise": noise}, present, targets, ("good", "noise"),
                      Hierarchy.of(CLASSES))
    assert mix.weights["good"] > 0.8 and mix.temperature > 0


def test_fast_macro_f1_is_sklearns_over_the_true_classes():
    rng = np.random.default_rng(1)
    true, guess = rng.integers(6, size=300), rng.integers(8, size=300)
    expected = f1_score(true, guess, labels=np.unique(true), average="macro", zero_division=0)
    assert abs(macro_f1(true, guess, 8) - expected) < 1e-12


def test_level_weights_are_learnt_when_the_parent_matters():
    # the mass is split between A's two leaves; B's single leaf is the likeliest by a hair
    rows = 200
    probabilities = np.tile([0.33, 0.32, 0.35], (rows, 1))
    targets = np.zeros(rows, dtype=int)  # truly A > a1
    hierarchy = Hierarchy.of(CLASSES)
    assert hierarchy.decide(probabilities, ()).tolist() == [2] * rows
    level_weights = fit_level_weights(probabilities, targets, hierarchy)
    assert level_weights and level_weights[0] > 0
    assert hierarchy.decide(probabilities, level_weights).tolist() == [0] * rows
    # and none when the argmax is already right on every level
    assert fit_level_weights(probabilities, np.full(rows, 2), hierarchy) == ()


def test_decide_gives_the_decided_class_its_probability():
    log_probs = {"m": np.log(np.asarray([[0.33, 0.32, 0.35]]))}
    present = {"m": np.ones(1, bool)}
    flat, confidence = decide(log_probs, present, Mix({"m": 1.0}, 1.0), CLASSES)
    assert flat == ["B > b1"] and abs(confidence[0] - 0.35) < 1e-9
    path, confidence = decide(log_probs, present, Mix({"m": 1.0}, 1.0, (1.0, 1.0)), CLASSES)
    assert path == ["A > a1"] and abs(confidence[0] - 0.33) < 1e-9
