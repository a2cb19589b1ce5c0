"""Fitting the ensemble's members on one set of labelled products: the fusion net, TF-IDF +
logistic regression, and linear heads on the text and the image embeddings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from catalog_ml.features.model_files import text_encoder_folder
from catalog_ml.features.runtime import resolve_runtime
from catalog_ml.features.text_adapters import AdaptedTextEncoder
from catalog_ml.models.ensemble import TUNED, Members, ProductBatch, TunedText
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
    """The members fitted on ``batch`` (the tuned text one only with ``text_finetune``); with
    ``costs``, each one's fit seconds added to
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
    text_tuned = None
    if options.tunes_text:
        with timed(costs, TUNED):
            text_tuned = fit_tuned_text(batch.documents, targets, len(classes), options)
    return Members(fusion, lexical_features, lexical, text_linear, image_linear, text_tuned)


def fit_tuned_text(documents: list[str], targets: np.ndarray, n_classes: int,
                   options: TrainOptions) -> TunedText:
    """The text encoder fine-tuned (LoRA adapters or every weight, ``options.
    text_finetune_method``), then a logistic regression on its vectors."""
    runtime = resolve_runtime(options.device, options.precision)
    encoder = AdaptedTextEncoder.fit(text_encoder_folder(options.text_encoder_path), documents,
                                     targets, n_classes, runtime, options.text_finetune_epochs,
                                     options.seed, options.text_finetune_method)
    head = SoftmaxLinear.fit(encoder.encode(documents), targets, n_classes, TEXT_STRENGTH,
                             True, options.seed)
    return TunedText(encoder, head, options.text_encoder_path)
