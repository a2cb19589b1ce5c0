"""Fitting the answer's confidence (``models.confidence``) on the out-of-fold answers.

The review threshold is chosen on these confidences, so each out-of-fold answer gets the
confidence of a calibration fitted without its own fold (cross-fitted): a calibration judged
on the rows it learnt from would flatter the threshold. The model keeps the one fitted on all.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from catalog_ml.models.confidence import ConfidenceCalibration, features

FOLDS = 5  # cross-fitting folds; also the fewest right and wrong answers it needs of each
STRENGTH = 1.0


def _model() -> LogisticRegression:
    return LogisticRegression(C=STRENGTH, max_iter=1000)


def fit_confidence(probability: np.ndarray, chosen: np.ndarray, correct: np.ndarray,
                   support: np.ndarray, seed: int
                   ) -> tuple[ConfidenceCalibration | None, np.ndarray]:
    """The calibration (None where the answers cannot support one: fewer than ``FOLDS``
    right or wrong ones, or a fit that does not rise with the probability) and every
    answer's cross-fitted confidence (the probability itself without a calibration)."""
    right = int(np.sum(correct))
    if min(right, len(correct) - right) < FOLDS:
        return None, np.asarray(probability, dtype=np.float64)
    x = features(probability, np.asarray(support)[chosen])
    y = np.asarray(correct, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = _model().fit(x, y)
        cross = cross_val_predict(_model(), x, y, method="predict_proba",
                                  cv=StratifiedKFold(FOLDS, shuffle=True, random_state=seed))
    probability_coef, support_coef = (float(c) for c in fitted.coef_[0])
    if probability_coef <= 0:
        return None, np.asarray(probability, dtype=np.float64)
    calibration = ConfidenceCalibration(probability_coef, support_coef,
                                        float(fitted.intercept_[0]),
                                        tuple(int(n) for n in support))
    return calibration, cross[:, 1]
