"""Fitting the ensemble's members on one set of labelled products: the fusion net, TF-IDF +
logistic regression, and linear heads on the text and the image embeddings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from catalog_ml.models.ensemble import Members, ProductBatch
from catalog_ml.models.inputs import PriceScale
from catalog_ml.models.lexical import TfidfFeatures
from catalog_ml.models.linear import SoftmaxLinear
from catalog_ml.training.options import TrainOptions
from catalog_ml.training.trainer import train_classifier

LEXICAL_STRENGTH = 10.0  # inverse L2 strength of the TF-IDF logistic regression
TEXT_STRENGTH = 1.0
IMAGE_STRENGTH = 0.1


@contextmanager
def timed(costs: dict[str, float] | None, member: str) -> Iterator[None]:
    """Adds the block's wall-clock seconds to ``costs[member]`` (the ablation's cost column)."""
    started = time.perf_counter()
    yield
    if costs is not None:
        costs[member] = costs.get(member, 0.0) + time.perf_counter() - started


def fit_members(batch: ProductBatch, labels: list[str], classes: list[str],
                price_scale: PriceScale, encoder_version: str, options: TrainOptions,
                costs: dict[str, float] | None = None) -> Members:
    """The four members fitted on ``batch``; with ``costs``, each one's fit seconds added to
    it (the TF-IDF features count for the lexical member, which the fusion net shares)."""
    index = {c: i for i, c in enumerate(classes)}
    targets = np.asarray([index[c] for c in labels])
    with timed(costs, "lexical"):
        lexical_features = TfidfFeatures.fit(batch.documents)
        words = lexical_features.word.transform(batch.documents)
    with timed(costs, "fusion"):
        fusion = train_classifier(batch.inputs.with_lexical(words), labels, price_scale,
                                  encoder_version, options, classes=classes).network
    with timed(costs, "lexical"):
        lexical = SoftmaxLinear.fit(lexical_features.combine(words, batch.documents), targets,
                                    len(classes), LEXICAL_STRENGTH, False, options.seed)
    with timed(costs, "text_linear"):
        text_linear = SoftmaxLinear.fit(batch.inputs.text.numpy(), targets, len(classes),
                                        TEXT_STRENGTH, True, options.seed)
    has_image = batch.inputs.present[:, 1].numpy()
    image_linear = None
    with timed(costs, "image_linear"):
        if len(np.unique(targets[has_image])) >= 2:
            image_linear = SoftmaxLinear.fit(batch.inputs.image.numpy()[has_image],
                                             targets[has_image], len(classes),
                                             IMAGE_STRENGTH, True, options.seed)
    return Members(fusion, lexical_features, lexical, text_linear, image_linear)
