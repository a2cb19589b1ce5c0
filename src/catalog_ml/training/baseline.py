"""The yardstick users hold us to: TF-IDF + logistic regression on the title alone.

It is what a team builds in an afternoon, so every evaluation scores it on the same folds and
held-out products as the ensemble, and the report shows both side by side. It is the tuned
afternoon version, not scikit-learn's defaults: word 1-2-grams with sublinear counts, less
regularisation (C = 10) and balanced class weights. The defaults under-fit short titles so
badly that beating them proves nothing: on a 700-product second shop (``amazon_uk_toys``)
they reached 0.547 at level 1 where these settings reach 0.823, and on the fashion titles
0.937 / 0.766 at the leaf where these reach 0.957 / 0.920 (5 folds, 2026-12-04; the issue
that asked for this quoted 0.957 for TF-IDF + LR on another fashion catalog).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

NAME = "baseline_tfidf_lr"
VECTORISER_OPTIONS = {"ngram_range": (1, 2), "sublinear_tf": True}
STRENGTH = 10.0  # inverse regularisation; 30 did no better on either shop


def baseline_predictions(titles: list[str], labels: list[str], train: np.ndarray,
                         test: np.ndarray) -> list[str]:
    vectoriser = TfidfVectorizer(**VECTORISER_OPTIONS).fit([titles[i] for i in train])
    model = LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(vectoriser.transform([titles[i] for i in train]), [labels[i] for i in train])
    return model.predict(vectoriser.transform([titles[i] for i in test])).tolist()
