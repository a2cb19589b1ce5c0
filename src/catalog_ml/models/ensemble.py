"""Model-level fusion: the fusion net and simpler members, combined with learned weights.

Members: ``fusion`` (attention over text / image / price embeddings), ``lexical`` (TF-IDF words
and character n-grams), ``text_linear`` and ``image_linear`` (a linear head per embedding).
Their log-probabilities are averaged with weights learned on out-of-fold predictions, then
divided by a temperature fitted on the same data. A member that cannot see a product (no photo
for ``image_linear``) is left out of that product's average and the rest are renormalised.
The artifact is one safetensors file and one JSON file; nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import torch
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from catalog_ml.models.fusion import FusionClassifier, FusionConfig, batched_forward
from catalog_ml.models.inputs import ModelInputs, PriceScale, build_inputs
from catalog_ml.models.lexical import TfidfFeatures, product_document
from catalog_ml.models.linear import SoftmaxLinear, log_softmax

FORMAT = "catalog-ml/ensemble/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
MEMBERS = ("fusion", "lexical", "text_linear", "image_linear")
TEXT_MEMBERS = ("lexical", "text_linear")


@dataclass
class ProductBatch:
    """What every member reads for a set of products: embeddings, price and the raw text."""

    inputs: ModelInputs
    documents: list[str]

    def __len__(self) -> int:
        return len(self.documents)

    def subset(self, index: np.ndarray) -> ProductBatch:
        return ProductBatch(self.inputs.subset(index), [self.documents[i] for i in index])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, price_scale: PriceScale, image_dim: int
                   ) -> ProductBatch:
        """From rows with ``text_vector``, ``image_vector``, ``price`` and the text columns
        (title, brand, description, attributes; absent ones count as empty)."""
        inputs = build_inputs(list(frame["text_vector"]), list(frame["image_vector"]),
                              _nullable(frame["price"]), price_scale, image_dim)
        columns = [_nullable(frame[c]) if c in frame else [None] * len(frame)
                   for c in ("title", "brand", "description", "attributes")]
        return cls(inputs, [product_document(*values) for values in zip(*columns, strict=True)])


def _nullable(series: pd.Series) -> list[Any]:
    return list(series.astype(object).where(series.notna(), None))


@dataclass
class Prediction:
    categories: list[str]
    confidence: np.ndarray  # (n,)
    top_k: list[list[tuple[str, float]]]
    modality_weights: np.ndarray  # (n, 3): text, image, price, from the fusion net


@dataclass
class Members:
    fusion: FusionClassifier
    lexical_features: TfidfFeatures
    lexical: SoftmaxLinear
    text_linear: SoftmaxLinear
    image_linear: SoftmaxLinear | None  # None when no training product had a photo

    def fusion_outputs(self, inputs: ModelInputs) -> tuple[np.ndarray, np.ndarray]:
        logits, weights = batched_forward(self.fusion, inputs)
        return logits.numpy().astype(np.float64), weights.numpy()

    def outputs(self, batch: ProductBatch) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                     np.ndarray]:
        """Per member: log-probabilities (n, classes) and a presence mask (n,); and the
        fusion net's modality weights."""
        n = len(batch)
        words = self.lexical_features.word.transform(batch.documents)
        fusion_logits, modality_weights = self.fusion_outputs(batch.inputs.with_lexical(words))
        has_image = batch.inputs.present[:, 1].numpy()
        log_probs = {
            "fusion": log_softmax(fusion_logits),
            "lexical": self.lexical.log_proba(
                self.lexical_features.combine(words, batch.documents)),
            "text_linear": self.text_linear.log_proba(batch.inputs.text.numpy()),
        }
        present = {name: np.ones(n, dtype=bool) for name in log_probs}
        if self.image_linear is not None:
            log_probs["image_linear"] = self.image_linear.log_proba(batch.inputs.image.numpy())
            present["image_linear"] = has_image
        return log_probs, present, modality_weights


def combine(log_probs: dict[str, np.ndarray], present: dict[str, np.ndarray],
            weights: dict[str, float], temperature: float) -> np.ndarray:
    """Weighted mean of the members' log-probabilities over the members present, / temperature."""
    names = [m for m in weights if m in log_probs]
    total = sum(weights[m] * log_probs[m] * present[m][:, None] for m in names)
    mass = sum(weights[m] * present[m] for m in names)
    return total / np.maximum(mass, 1e-12)[:, None] / temperature


def mixed_probabilities(log_probs: dict[str, np.ndarray], present: dict[str, np.ndarray],
                        weights: dict[str, float], temperature: float) -> np.ndarray:
    """Class probabilities of the mix: what serving and every evaluation decide from."""
    return np.exp(log_softmax(combine(log_probs, present, weights, temperature)))


@dataclass
class EnsembleModel:
    classes: list[str]
    price_scale: PriceScale
    encoder_version: str
    members: Members
    weights: dict[str, float]
    temperature: float
    review_threshold: float
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def image_dim(self) -> int:
        return self.members.fusion.config.image_dim

    def probabilities(self, batch: ProductBatch) -> tuple[np.ndarray, np.ndarray]:
        log_probs, present, modality_weights = self.members.outputs(batch)
        return mixed_probabilities(log_probs, present, self.weights, self.temperature), \
            modality_weights

    def predict(self, batch: ProductBatch, top_k: int = 3) -> Prediction:
        probabilities, modality_weights = self.probabilities(batch)
        k = min(top_k, len(self.classes))
        order = np.argsort(-probabilities, axis=1)[:, :k]
        top = [[(self.classes[j], float(row[j])) for j in js]
               for row, js in zip(probabilities, order, strict=True)]
        return Prediction(
            categories=[self.classes[js[0]] for js in order],
            confidence=probabilities[np.arange(len(batch)), order[:, 0]] if len(batch)
            else np.zeros(0),
            top_k=top, modality_weights=modality_weights)

    def save(self, folder: str | Path) -> str:
        arrays: dict[str, np.ndarray] = {
            f"fusion.{k}": v.detach().cpu().float().contiguous().numpy()
            for k, v in self.members.fusion.state_dict().items()}
        arrays.update(self.members.lexical_features.tensors("lexical_features"))
        arrays.update(self.members.lexical.tensors("lexical"))
        arrays.update(self.members.text_linear.tensors("text_linear"))
        if self.members.image_linear is not None:
            arrays.update(self.members.image_linear.tensors("image_linear"))
        meta = {
            "format": FORMAT,
            "classes": self.classes,
            "fusion": self.members.fusion.config.to_dict(),
            "lexical_features": self.members.lexical_features.meta(),
            "price_scale": self.price_scale.to_dict(),
            "encoder_version": self.encoder_version,
            "weights": self.weights,
            "temperature": self.temperature,
            "review_threshold": self.review_threshold,
            "metrics": self.metrics,
        }
        filesystem, root = _filesystem(folder)
        filesystem.create_dir(root, recursive=True)
        for name, payload in ((WEIGHTS_FILE, save_arrays(arrays)),
                              (CONFIG_FILE, json.dumps(meta, indent=1).encode())):
            with filesystem.open_output_stream(f"{root}/{name}") as handle:
                handle.write(payload)
        return str(folder)

    @classmethod
    def load(cls, folder: str | Path) -> EnsembleModel:
        filesystem, root = _filesystem(folder)
        with filesystem.open_input_stream(f"{root}/{CONFIG_FILE}") as handle:
            meta = json.loads(handle.read())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: model format {meta.get('format')!r} is not {FORMAT!r}; "
                             "retrain with `catalog-ml train`")
        with filesystem.open_input_stream(f"{root}/{WEIGHTS_FILE}") as handle:
            arrays = load_arrays(handle.read())
        fusion = FusionClassifier(FusionConfig(**meta["fusion"]))
        fusion.load_state_dict({k.removeprefix("fusion."): torch.from_numpy(v)
                                for k, v in arrays.items() if k.startswith("fusion.")})
        fusion.eval()
        members = Members(
            fusion=fusion,
            lexical_features=TfidfFeatures.restore(meta["lexical_features"], arrays,
                                                   "lexical_features"),
            lexical=SoftmaxLinear.from_tensors(arrays, "lexical"),
            text_linear=SoftmaxLinear.from_tensors(arrays, "text_linear"),
            image_linear=SoftmaxLinear.from_tensors(arrays, "image_linear")
            if "image_linear.coef" in arrays else None)
        return cls(classes=list(meta["classes"]), price_scale=PriceScale(**meta["price_scale"]),
                   encoder_version=meta["encoder_version"], members=members,
                   weights={k: float(v) for k, v in meta["weights"].items()},
                   temperature=float(meta["temperature"]),
                   review_threshold=float(meta["review_threshold"]),
                   metrics=meta.get("metrics") or {})


def _filesystem(folder: str | Path) -> tuple[pafs.FileSystem, str]:
    location = str(folder)
    if "://" not in location:
        location = str(Path(location).resolve())
    filesystem, root = pafs.FileSystem.from_uri(location)
    return filesystem, root.rstrip("/")
