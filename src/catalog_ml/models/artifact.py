"""The fusion net as its trainer returns it: the network, its classes and how it scores.

It is one member of the ensemble (``catalog_ml.models.ensemble``), which owns storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from catalog_ml.models.fusion import FusionClassifier, batched_forward
from catalog_ml.models.inputs import ModelInputs, PriceScale


@dataclass
class TrainedModel:
    network: FusionClassifier
    classes: list[str]
    price_scale: PriceScale
    encoder_version: str
    temperature: float = 1.0
    metrics: dict[str, Any] | None = None

    def logits(self, inputs: ModelInputs) -> tuple[torch.Tensor, torch.Tensor]:
        return batched_forward(self.network, inputs)
