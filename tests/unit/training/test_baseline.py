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
