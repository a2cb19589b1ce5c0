"""Training the fusion classifier on labelled products' embeddings.

Modality dropout hides the image, the price or (when a photo is there) the text of random
training products, so the net learns to classify from whatever a product has. Early stopping
and a temperature for calibrated confidence both use the held-out validation split.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from catalog_ml.errors import LabelsError
from catalog_ml.models.artifact import TrainedModel
from catalog_ml.models.fusion import FusionClassifier, FusionConfig
from catalog_ml.models.inputs import ModelInputs, PriceScale
from catalog_ml.training.evaluation import level_metrics
from catalog_ml.training.options import TrainOptions
from catalog_ml.training.temperature import fit_temperature

log = logging.getLogger(__name__)
MODALITY_DROPOUT = {"text": 0.1, "image": 0.25, "price": 0.25}
PATIENCE = 8


def split_indices(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split; classes with a single example stay in training (nothing to hold out).

    Every class left has two or more examples, so at least one of each goes either way.
    """
    index = np.arange(len(labels))
    rare = np.bincount(labels)[labels] < 2
    common = index[~rare]
    if len(common) == 0 or share <= 0:
        return index, index[:0]
    n_classes = len(np.unique(labels[common]))
    n_val = min(max(n_classes, round(share * len(common))), len(common) - n_classes)
    train, val = train_test_split(common, test_size=n_val, random_state=seed,
                                  stratify=labels[common])
    return np.sort(np.concatenate([train, index[rare]])), np.sort(val)


def drop_modalities(present: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Hide random modalities; a product always keeps at least one (attention over nothing
    is NaN), and the text only goes where a photo can stand in."""
    original = present
    present = present.clone()
    drop = torch.rand(present.shape, generator=generator)
    for column, name in enumerate(("text", "image", "price")):
        present[:, column] &= ~(drop[:, column] < MODALITY_DROPOUT[name])
    present[:, 0] |= ~present[:, 1]  # no photo left: the text stays
    return present & original


def train_classifier(
    inputs: ModelInputs, labels: list[str], price_scale: PriceScale, encoder_version: str,
    options: TrainOptions, progress: Callable[[int, dict[str, float]], None] | None = None,
    classes: list[str] | None = None,
) -> TrainedModel:
    classes = classes or sorted(set(labels))
    if len(classes) < 2:
        raise LabelsError(f"training needs at least 2 categories; the labels hold {classes}")
    index = {name: i for i, name in enumerate(classes)}
    targets_np = np.asarray([index[c] for c in labels])
    train_idx, val_idx = split_indices(targets_np, options.validation_share, options.seed)
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    config = FusionConfig(text_dim=inputs.text.shape[1], image_dim=inputs.image.shape[1],
                          price_dim=inputs.price.shape[1], n_classes=len(classes),
                          width=options.width,
                          lexical_dim=0 if inputs.lexical is None else inputs.lexical.shape[1])
    network = FusionClassifier(config)
    targets = torch.from_numpy(targets_np)
    optimiser = torch.optim.AdamW(network.parameters(), lr=options.learning_rate,
                                  weight_decay=1e-2)
    steps_per_epoch = max(1, math.ceil(len(train_idx) / options.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=options.learning_rate, total_steps=options.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    val = inputs.subset(val_idx)
    model = TrainedModel(network, classes, price_scale, encoder_version)
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    stale = 0
    started = time.monotonic()
    for epoch in range(options.epochs):
        network.train()
        order = torch.from_numpy(train_idx)[torch.randperm(len(train_idx), generator=generator)]
        total = 0.0
        for start in range(0, len(order), options.batch_size):
            batch = order[start:start + options.batch_size]
            part = inputs.subset(batch)
            present = drop_modalities(part.present, generator)
            logits, _ = network(part.text, part.image, part.price, present,
                                part.lexical_tensor())
            loss = loss_fn(logits, targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += loss.item() * len(batch)
        score = _accuracy(model, val, targets[val_idx]) if len(val_idx) else -total
        if progress:
            progress(epoch + 1, {"loss": total / len(order), "val_accuracy": score})
        if best is None or score > best[0] + 1e-4:
            best = (score, {k: v.clone() for k, v in network.state_dict().items()})
            stale = 0
        else:
            stale += 1
            # the one-cycle schedule warms up first: no verdict before it peaks
            if stale >= PATIENCE and epoch + 1 >= 0.4 * options.epochs:
                log.info("early stop after epoch %d", epoch + 1)
                break
    assert best is not None
    network.load_state_dict(best[1])
    network.eval()
    if len(val_idx):
        val_logits, _ = model.logits(val)
        model.temperature = fit_temperature(val_logits, targets[val_idx])
        predicted = [classes[i] for i in val_logits.argmax(-1).tolist()]
        truth = [classes[i] for i in targets_np[val_idx]]
        metrics: dict[str, Any] = {"validation": level_metrics(truth, predicted)}
    else:
        metrics = {"validation": {}}
    metrics.update({"n_train": len(train_idx), "n_validation": len(val_idx),
                    "n_classes": len(classes), "temperature": model.temperature,
                    "train_seconds": round(time.monotonic() - started, 1)})
    model.metrics = metrics
    return model


def _accuracy(model: TrainedModel, inputs: ModelInputs, targets: torch.Tensor) -> float:
    logits, _ = model.logits(inputs)
    return float((logits.argmax(-1) == targets).float().mean())
