"""catalog_ml.models.artifact: the fusion net as its trainer returns it."""

from __future__ import annotations

import numpy as np

from catalog_ml.models.inputs import PriceScale, build_inputs
from catalog_ml.training.trainer import TrainOptions, train_classifier


def test_the_trained_fusion_net_scores_every_product_over_its_classes():
    rng = np.random.default_rng(0)
    labels = rng.integers(3, size=90)
    text = np.eye(3)[labels] * 3 + rng.normal(scale=0.3, size=(90, 3))
    scale = PriceScale.fit(np.array([1.0]))
    inputs = build_inputs(list(text), [None] * 90, [None] * 90, scale, 4)
    names = [f"A > {c}" for c in labels]
    model = train_classifier(inputs, names, scale, "enc-v1", TrainOptions(epochs=5, width=8))
    logits, attention = model.logits(inputs)
    assert tuple(logits.shape) == (90, 3) and model.classes == ["A > 0", "A > 1", "A > 2"]
    assert np.isfinite(logits.numpy()).all() and model.temperature > 0
    assert attention.shape[0] == 90
    assert model.encoder_version == "enc-v1" and model.price_scale is scale
