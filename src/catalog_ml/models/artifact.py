"""A trained classifier in storage: weights in safetensors, everything else in JSON. No pickle.

Loading a model can therefore never run code from the file, and any tool that reads
safetensors and JSON can inspect it. The folder is a local path or an object-store URI
(through pyarrow's filesystems), so Spark workers on a cluster load it the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from catalog_ml.models.fusion import MODALITIES, FusionClassifier, FusionConfig
from catalog_ml.models.inputs import ModelInputs, PriceScale

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


def _filesystem(folder: str | Path) -> tuple[pafs.FileSystem, str]:
    location = str(folder)
    if "://" not in location:
        location = str(Path(location).resolve())
    filesystem, root = pafs.FileSystem.from_uri(location)
    return filesystem, root.rstrip("/")


@dataclass
class Prediction:
    categories: list[str]
    confidence: np.ndarray  # (n,)
    top_k: list[list[tuple[str, float]]]
    modality_weights: np.ndarray  # (n, 3)


@dataclass
class TrainedModel:
    network: FusionClassifier
    classes: list[str]
    price_scale: PriceScale
    encoder_version: str
    temperature: float = 1.0
    metrics: dict[str, Any] | None = None

    def save(self, folder: str | Path) -> str:
        """Write both files under ``folder`` (path or URI); returns the folder as given."""
        state = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        meta = {
            "format": "catalog-ml/fusion/1",
            "fusion": self.network.config.to_dict(),
            "classes": self.classes,
            "price_scale": self.price_scale.to_dict(),
            "encoder_version": self.encoder_version,
            "temperature": self.temperature,
            "modalities": list(MODALITIES),
            "metrics": self.metrics or {},
        }
        filesystem, root = _filesystem(folder)
        filesystem.create_dir(root, recursive=True)
        for name, payload in ((WEIGHTS_FILE, save_safetensors(state)),
                              (CONFIG_FILE, json.dumps(meta, indent=2).encode())):
            with filesystem.open_output_stream(f"{root}/{name}") as handle:
                handle.write(payload)
        return str(folder)

    @classmethod
    def load(cls, folder: str | Path) -> TrainedModel:
        filesystem, root = _filesystem(folder)
        with filesystem.open_input_stream(f"{root}/{CONFIG_FILE}") as handle:
            meta = json.loads(handle.read())
        if meta.get("format") != "catalog-ml/fusion/1":
            raise ValueError(f"{folder}: unknown model format {meta.get('format')!r}")
        with filesystem.open_input_stream(f"{root}/{WEIGHTS_FILE}") as handle:
            weights = load_safetensors(handle.read())
        network = FusionClassifier(FusionConfig(**meta["fusion"]))
        network.load_state_dict(weights)
        network.eval()
        return cls(network=network, classes=list(meta["classes"]),
                   price_scale=PriceScale(**meta["price_scale"]),
                   encoder_version=meta["encoder_version"],
                   temperature=float(meta["temperature"]), metrics=meta.get("metrics"))

    @torch.inference_mode()
    def logits(self, inputs: ModelInputs, batch_size: int = 1024
               ) -> tuple[torch.Tensor, torch.Tensor]:
        self.network.eval()
        outs, weights = [], []
        for start in range(0, len(inputs), batch_size):
            part = inputs.subset(slice(start, start + batch_size))
            logit, weight = self.network(part.text, part.image, part.price, part.present)
            outs.append(logit)
            weights.append(weight)
        if not outs:
            n = len(self.classes)
            return torch.zeros((0, n)), torch.zeros((0, len(MODALITIES)))
        return torch.cat(outs), torch.cat(weights)

    def predict(self, inputs: ModelInputs, top_k: int = 3) -> Prediction:
        logits, weights = self.logits(inputs)
        probabilities = torch.softmax(logits / self.temperature, dim=-1)
        k = min(top_k, len(self.classes))
        values, index = probabilities.topk(k, dim=-1)
        top = [[(self.classes[j], float(v)) for v, j in zip(vs, js, strict=True)]
               for vs, js in zip(values.tolist(), index.tolist(), strict=True)]
        return Prediction(
            categories=[self.classes[j] for j in index[:, 0].tolist()] if k else [],
            confidence=values[:, 0].numpy() if k else np.zeros(0),
            top_k=top, modality_weights=weights.numpy())
