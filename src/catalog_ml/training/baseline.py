"""The yardstick users hold us to: TF-IDF + logistic regression on the title alone.

It is what a team builds in an afternoon, so every evaluation scores it on the same folds and
held-out products as the ensemble, and the report shows both side by side.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

NAME = "baseline_tfidf_lr"


def baseline_predictions(titles: list[str], labels: list[str], train: np.ndarray,
                         test: np.ndarray) -> list[str]:
    vectoriser = TfidfVectorizer().fit([titles[i] for i in train])
    model = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(vectoriser.transform([titles[i] for i in train]), [labels[i] for i in train])
    return model.predict(vectoriser.transform([titles[i] for i in test])).tolist()
