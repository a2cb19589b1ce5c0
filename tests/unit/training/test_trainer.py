"""catalog_ml.training.trainer: fitting the fusion net (split, learning, temperature)."""

import numpy as np
import pytest

from catalog_ml.errors import LabelsError
from catalog_ml.models.inputs import PriceScale, build_inputs
from catalog_ml.training.options import TrainOptions
from catalog_ml.training.trainer import split_indices, train_classifier


def synthetic(n: int = 300, classes: int = 4, seed: int = 0):
    """Separable classes: the class shows in the text, the image and the price."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(classes, size=n)
    centres = rng.normal(size=(classes, 16))
    text = centres[labels] + rng.normal(scale=0.6, size=(n, 16))
    image = [None if rng.random() < 0.3 else np.abs(centres[c] + rng.normal(0, .5, 16)) * 3
             for c in labels]
    prices = [None if rng.random() < 0.3 else float(10 ** (c + 1) * rng.uniform(0.8, 1.2))
              for c in labels]
    names = [f"Top{c % 2} > Leaf{c}" for c in labels]
    return text, image, prices, names


def test_split_is_stratified_and_keeps_singletons_in_training():
    labels = np.array([0] * 10 + [1] * 10 + [2])
    train, val = split_indices(labels, 0.2, seed=1)
    assert 20 in train and 20 not in val
    assert set(labels[val]) == {0, 1}
    assert len(set(train) & set(val)) == 0 and len(train) + len(val) == len(labels)


def test_the_fusion_net_learns_from_the_three_modalities():
    text, image, prices, names = synthetic()
    scale = PriceScale.fit(np.array([p for p in prices if p is not None]))
    inputs = build_inputs(list(text), image, prices, scale, 16)
    model = train_classifier(inputs, names, scale, "enc-v1",
                             TrainOptions(epochs=30, width=32, seed=3))
    assert model.metrics["validation"]["level_2"]["accuracy"] > 0.9


def test_training_needs_two_categories():
    text, image, prices, _ = synthetic(20)
    inputs = build_inputs(list(text), image, prices, PriceScale.fit(np.array([1.0])), 16)
    with pytest.raises(LabelsError, match="at least 2 categories"):
        train_classifier(inputs, ["A"] * 20, PriceScale.fit(np.array([1.0])), "e",
                         TrainOptions(epochs=1))
