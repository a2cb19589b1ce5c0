"""catalog_ml.training.baseline: TF-IDF + logistic regression on the title alone."""

from __future__ import annotations

import numpy as np

from catalog_ml.training.baseline import NAME, baseline_predictions


def test_the_baseline_learns_words_and_predicts_only_the_test_rows():
    titles = [f"{word} {i}" for i in range(40) for word in ("red lamp", "oak chair")]
    labels = [label for _ in range(40) for label in ("Home > Lamps", "Home > Chairs")]
    train, test = np.arange(0, 60), np.arange(60, 80)
    predicted = baseline_predictions(titles, labels, train, test)
    assert len(predicted) == len(test)
    assert predicted == [labels[i] for i in test]
    assert NAME == "baseline_tfidf_lr"


def test_a_rare_category_with_its_own_words_is_found_as_a_tuned_baseline_finds_it():
    """scikit-learn's defaults (C = 1, unweighted) call all ten "Lamps": the yardstick must be
    the afternoon's tuned version, or beating it proves nothing."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    titles = [" ".join(rng.choice(words, 4)) + " lamp" for _ in range(200)]
    titles += [" ".join(rng.choice(words, 4)) + " zeppelin kit" for _ in range(4)]
    titles += [f"{rng.choice(words)} {rng.choice(words)} zeppelin kit" for _ in range(10)]
    labels = ["Home > Lamps"] * 200 + ["Toys > Models"] * 14
    predicted = baseline_predictions(titles, labels, np.arange(204), np.arange(204, 214))
    assert predicted == ["Toys > Models"] * 10
