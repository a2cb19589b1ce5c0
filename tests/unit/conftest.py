"""Fixtures of the unit tests: one small ensemble trained once per session on synthetic data."""

import pytest

from catalog_ml.training.ensemble_trainer import train_ensemble
from catalog_ml.training.options import EnsembleOptions, TrainOptions
from tests.unit.synthetic import labelled


@pytest.fixture(scope="session")
def trained():
    """(data, price scale, model, report) of an ensemble trained on 360 synthetic products."""
    data, scale = labelled()
    # the tuned text member has its own tests (test_ensemble_trainer); these are about the rest
    options = EnsembleOptions(fusion=TrainOptions(epochs=15, width=32, seed=1,
                                                  text_finetune="none"), folds=3)
    return data, scale, *train_ensemble(data, scale, "enc-v1", options)
