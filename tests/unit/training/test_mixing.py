"""catalog_ml.training.mixing: member weights, temperature and level weights learnt from
out-of-fold predictions, scored on every level."""

import numpy as np
from sklearn.metrics import f1_score

from catalog_ml.models.ensemble import combine
from catalog_ml.models.hierarchy import Hierarchy
from catalog_ml.models.linear import log_softmax
from catalog_ml.training.mixing import (
    GridOutcomes,
    Mix,
    decide,
    fit_level_weights,
    fit_weights,
    level_score,
    macro_f1,
    simplex,
)

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


def _members(rows: int, seed: int) -> tuple[dict, dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    targets = rng.integers(3, size=rows)
    log_probs = {name: np.log(rng.dirichlet(np.ones(3) * 0.5, size=rows)) for name in "abc"}
    log_probs["a"][np.arange(rows), targets] += 1.0  # a is the better member, not a perfect one
    present = {name: rng.random(rows) > 0.1 for name in "abc"}
    present["a"][:] = True
    return log_probs, present, targets


def test_a_grid_point_s_weighted_score_is_its_score_on_the_rows_repeated():
    """The bootstrap's scorer counts row i counts[i] times: it must score every grid point
    as ``level_score`` does on the rows actually repeated."""
    log_probs, present, targets = _members(120, 2)
    hierarchy = Hierarchy.of(CLASSES)
    combos = np.asarray(simplex(3, 10))
    grid = GridOutcomes.of(log_probs, present, targets, ("a", "b", "c"), combos, hierarchy)
    counts = np.random.default_rng(3).integers(0, 4, size=120)
    repeated = np.repeat(np.arange(120), counts)
    for point, combo in enumerate(combos):
        weights = {n: float(w) for n, w in zip("abc", combo, strict=True) if w > 0}
        decided = combine({n: v[repeated] for n, v in log_probs.items()},
                          {n: v[repeated] for n, v in present.items()}, weights, 1.0)
        expected = level_score(targets[repeated], decided.argmax(1), hierarchy)
        assert abs(grid.scores(counts.astype(float))[point] - expected) < 1e-9


def test_the_grid_stores_each_point_s_decisions_and_losses_as_combine_mixes():
    """Rows where members are missing included; a row with no weighted member present is
    decided as combine decides it (all zeros: the first class)."""
    log_probs, present, targets = _members(90, 5)
    present["a"][:5] = False
    present["b"][:5] = False
    hierarchy = Hierarchy.of(CLASSES)
    combos = np.asarray(simplex(3, 10))
    grid = GridOutcomes.of(log_probs, present, targets, ("a", "b", "c"), combos, hierarchy)
    assert grid.decisions.dtype == np.int32 and grid.level_hits.dtype == np.uint8
    for point, combo in enumerate(combos):
        weights = {n: float(w) for n, w in zip("abc", combo, strict=True) if w > 0}
        mixed = combine(log_probs, present, weights, 1.0)
        assert (grid.decisions[point] == mixed.argmax(1)).all()
        loss = -log_softmax(mixed)[np.arange(90), targets]
        assert np.allclose(grid.losses[point], loss, rtol=1e-5)
        right = sum(a[mixed.argmax(1)] == a[targets] for a in hierarchy.ancestors)
        assert (grid.level_hits[point] == right).all()


def test_without_bags_the_weights_are_the_best_grid_point_and_bagging_averages_them():
    log_probs, present, targets = _members(300, 4)
    hierarchy = Hierarchy.of(CLASSES)
    names = ("a", "b", "c")
    plain = fit_weights(log_probs, present, targets, names, hierarchy, bags=0)
    best = max(simplex(3, 10), key=lambda combo: level_score(targets, combine(
        log_probs, present, dict(zip(names, combo, strict=True)), 1.0).argmax(1), hierarchy))
    scored = level_score(targets, combine(log_probs, present, plain.weights, 1.0).argmax(1),
                         hierarchy)
    assert abs(scored - level_score(targets, combine(
        log_probs, present, dict(zip(names, best, strict=True)), 1.0).argmax(1),
        hierarchy)) < 1e-9
    bagged = fit_weights(log_probs, present, targets, names, hierarchy)
    assert abs(sum(bagged.weights.values()) - 1) < 1e-5
    assert bagged.weights["a"] == max(bagged.weights.values())
    off_grid = [w for w in bagged.weights.values() if abs(w * 10 - round(w * 10)) > 1e-6]
    assert off_grid, bagged.weights  # a mean of resamples' best points, not one of them
    assert fit_weights(log_probs, present, targets, names, hierarchy) == bagged  # reproducible


def test_no_rows_to_learn_from_give_an_even_mix():
    empty = {name: np.zeros((0, 3)) for name in "ab"}
    mix = fit_weights(empty, {name: np.zeros(0, bool) for name in "ab"},
                      np.zeros(0, dtype=int), ("a", "b"), Hierarchy.of(CLASSES))
    assert mix == Mix({"a": 0.5, "b": 0.5}, 1.0)
