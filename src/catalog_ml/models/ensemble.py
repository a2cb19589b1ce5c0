"""Model-level fusion: the fusion net and simpler members, combined with learned weights.

Members: ``fusion`` (attention over text / image / price embeddings), ``lexical`` (TF-IDF words
and character n-grams), ``text_linear`` and ``image_linear`` (a linear head per embedding).
Their log-probabilities are averaged with weights learned on out-of-fold predictions, then
divided by a temperature fitted on the same data. A member that cannot see a product (no photo
for ``image_linear``) is left out of that product's average and the rest are renormalised.
The artifact is one safetensors file and one JSON file; nothing is pickled. Its SHA-256
(over both files) is kept in the registry and checked on every load, and the numbers in the
JSON are checked too: an altered or mismatched artifact is an ``ArtifactError``, never a
model that quietly relabels the catalog.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from catalog_ml.errors import ArtifactError
from catalog_ml.features.text_adapters import AdaptedTextEncoder
from catalog_ml.lake.files import open_filesystem
from catalog_ml.models.attribution import modality_shares
from catalog_ml.models.confidence import ConfidenceCalibration, as_meta, calibration_problem
from catalog_ml.models.fusion import FusionClassifier, FusionConfig, batched_forward
from catalog_ml.models.hierarchy import Hierarchy
from catalog_ml.models.inputs import ModelInputs, PriceScale, build_inputs
from catalog_ml.models.lexical import TfidfFeatures, product_document
from catalog_ml.models.linear import SoftmaxLinear, log_softmax

FORMAT = "catalog-ml/ensemble/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
MEMBERS = ("fusion", "lexical", "text_linear", "image_linear", "text_tuned")
TEXT_MEMBERS = ("lexical", "text_linear", "text_tuned")
TUNED = "text_tuned"  # the fine-tuned (LoRA or full) text encoder and its head, when trained


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
    modality_weights: np.ndarray  # (n, 3): text, image, price shares of the decision


@dataclass
class TunedText:
    """A member that reads the product's text itself, through the adapted encoder."""

    encoder: AdaptedTextEncoder
    head: SoftmaxLinear
    base: str  # the base encoder's folder; "": the shipped MiniLM

    def log_proba(self, documents: list[str]) -> np.ndarray:
        return self.head.log_proba(self.encoder.encode(documents))


@dataclass
class Members:
    fusion: FusionClassifier
    lexical_features: TfidfFeatures
    lexical: SoftmaxLinear
    text_linear: SoftmaxLinear
    image_linear: SoftmaxLinear | None  # None when no training product had a photo
    text_tuned: TunedText | None = None  # None unless trained with text_finetune

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
        if self.text_tuned is not None:
            log_probs[TUNED] = self.text_tuned.log_proba(batch.documents)
            present[TUNED] = np.ones(n, dtype=bool)
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
    level_weights: list[float] = field(default_factory=list)  # empty: the likeliest leaf
    # None (models from before it, or too few out-of-fold errors to fit one): the confidence
    # is the chosen category's probability
    confidence_calibration: ConfidenceCalibration | None = None

    @cached_property
    def hierarchy(self) -> Hierarchy:
        """Its classes' levels, built once: predict runs per batch at night and per request."""
        return Hierarchy.of(self.classes)

    @property
    def image_dim(self) -> int:
        return self.members.fusion.config.image_dim

    def predict(self, batch: ProductBatch, top_k: int = 3) -> Prediction:
        """Per product: the decided category (the best path), the confidence that it is right
        (``models.confidence``), the top ``top_k`` with their probabilities (the decision
        first, then by probability) and the modalities' shares of the decision."""
        log_probs, present, attention = self.members.outputs(batch)
        probabilities = mixed_probabilities(log_probs, present, self.weights, self.temperature)
        n, k = len(batch), min(top_k, len(self.classes))
        chosen = self.hierarchy.decide(probabilities, self.level_weights)
        rows = np.arange(n)
        rest = probabilities.copy()
        rest[rows, chosen] = -np.inf
        runner_up = rest.argmax(1) if n else chosen
        rest[rows, chosen] = np.inf
        order = np.argsort(-rest, axis=1)[:, :k]
        top = [[(self.classes[j], float(row[j])) for j in js]
               for row, js in zip(probabilities, order, strict=True)]
        shares = modality_shares(log_probs, present, self.weights, chosen, runner_up, attention)
        return Prediction(categories=[self.classes[i] for i in chosen],
                          confidence=self.confidence(probabilities[rows, chosen], chosen),
                          top_k=top, modality_weights=shares)

    def confidence(self, probability: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """How likely the answers (class indices ``chosen``, with these probabilities) are
        right: the calibration's, or the probability where the model has none."""
        if self.confidence_calibration is None:
            return probability
        return self.confidence_calibration.apply(probability, chosen)

    def save(self, folder: str | Path, storage_options: dict[str, str] | None = None) -> str:
        """Write the artifact; returns its SHA-256 (``artifact_digest`` of the two files)."""
        arrays: dict[str, np.ndarray] = {
            f"fusion.{k}": v.detach().cpu().float().contiguous().numpy()
            for k, v in self.members.fusion.state_dict().items()}
        arrays.update(self.members.lexical_features.tensors("lexical_features"))
        arrays.update(self.members.lexical.tensors("lexical"))
        arrays.update(self.members.text_linear.tensors("text_linear"))
        if self.members.image_linear is not None:
            arrays.update(self.members.image_linear.tensors("image_linear"))
        tuned = self.members.text_tuned
        if tuned is not None:
            # ".adapter" also for a fully tuned encoder: the prefix older artifacts carry
            arrays.update(tuned.encoder.tensors(f"{TUNED}.adapter"))
            arrays.update(tuned.head.tensors(f"{TUNED}.head"))
        meta = {
            "format": FORMAT,
            "classes": self.classes,
            "fusion": self.members.fusion.config.to_dict(),
            "lexical_features": self.members.lexical_features.meta(),
            "price_scale": self.price_scale.to_dict(),
            "encoder_version": self.encoder_version,
            "weights": self.weights,
            "temperature": self.temperature,
            "level_weights": self.level_weights,
            "review_threshold": self.review_threshold,
            "confidence_calibration": as_meta(self.confidence_calibration),
            "metrics": self.metrics,
            TUNED: {"base": tuned.base, "method": tuned.encoder.method}
            if tuned is not None else None,
        }
        files = {WEIGHTS_FILE: save_arrays(arrays),
                 CONFIG_FILE: json.dumps(meta, indent=1).encode()}
        filesystem, root = open_filesystem(str(folder), storage_options)
        filesystem.create_dir(root, recursive=True)
        for name, payload in files.items():
            with filesystem.open_output_stream(f"{root}/{name}") as handle:
                handle.write(payload)
        return artifact_digest(files)

    @classmethod
    def verify(cls, folder: str | Path, expected_sha256: str | None,
               storage_options: dict[str, str] | None = None
               ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The artifact's JSON and files once they match the registry's SHA-256 and the JSON's
        numbers make sense; cheap (no model is built). ArtifactError otherwise."""
        files = read_artifact(folder, storage_options)
        if expected_sha256 is None:
            raise ArtifactError(f"{folder}: the registry holds no checksum for this model "
                                "(registered by an older catalog-ml); retrain with "
                                "`catalog-ml train`")
        actual = artifact_digest(files)
        if actual != expected_sha256:
            raise ArtifactError(f"{folder}: the artifact's SHA-256 {actual[:12]}... is not the "
                                f"registered {expected_sha256[:12]}...; its files were altered "
                                "or replaced. Restore them or retrain")
        try:
            meta = json.loads(files[CONFIG_FILE])
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{folder}: {CONFIG_FILE} is not JSON ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise ArtifactError(f"{folder}: model format {found!r} is not {FORMAT!r}; "
                                "retrain with `catalog-ml train`")
        problem = _meta_problem(meta)
        if problem:
            raise ArtifactError(f"{folder}: {problem}")
        return meta, files

    @classmethod
    def load(cls, folder: str | Path, expected_sha256: str | None,
             storage_options: dict[str, str] | None = None) -> EnsembleModel:
        """The model at ``folder`` once its files match ``expected_sha256`` (the registry's)
        and its numbers make sense; ArtifactError otherwise."""
        meta, files = cls.verify(folder, expected_sha256, storage_options)
        try:
            arrays = load_arrays(files[WEIGHTS_FILE])
        except Exception as exc:  # safetensors raises its own error type for a bad file
            raise ArtifactError(f"{folder}: {WEIGHTS_FILE} is not a safetensors file "
                                f"({exc})") from None
        try:
            model = cls._from_parts(meta, arrays)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ArtifactError(f"{folder}: the artifact does not describe a usable model "
                                f"({type(exc).__name__}: {str(exc)[:200]})") from None
        problem = model.consistency_problem()
        if problem:
            raise ArtifactError(f"{folder}: {problem}")
        return model

    @classmethod
    def _from_parts(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> EnsembleModel:
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
            if "image_linear.coef" in arrays else None,
            text_tuned=_restore_tuned(meta[TUNED], arrays) if meta.get(TUNED) else None)
        return cls(classes=list(meta["classes"]), price_scale=PriceScale(**meta["price_scale"]),
                   encoder_version=str(meta["encoder_version"]), members=members,
                   weights={str(k): float(v) for k, v in meta["weights"].items()},
                   temperature=float(meta["temperature"]),
                   review_threshold=float(meta["review_threshold"]),
                   metrics=meta.get("metrics") or {},
                   level_weights=[float(w) for w in meta.get("level_weights") or []],
                   confidence_calibration=ConfidenceCalibration.from_dict(
                       meta["confidence_calibration"])
                   if meta.get("confidence_calibration") else None)

    def consistency_problem(self) -> str | None:
        """What makes this model unusable (it would give NaN or wrong answers), or None."""
        problem = _meta_problem({"classes": self.classes, "temperature": self.temperature,
                                 "review_threshold": self.review_threshold,
                                 "weights": self.weights, "level_weights": self.level_weights,
                                 "confidence_calibration": as_meta(self.confidence_calibration)})
        if problem:
            return problem
        n = len(self.classes)
        heads = {"lexical": self.members.lexical, "text_linear": self.members.text_linear,
                 "image_linear": self.members.image_linear,
                 TUNED: self.members.text_tuned.head if self.members.text_tuned else None}
        for name, head in heads.items():
            if head is not None and (head.coef.shape[0] != n or head.intercept.shape[0] != n):
                return f"member {name} scores {head.coef.shape[0]} classes, the model has {n}"
        if self.members.fusion.config.n_classes != n:
            return (f"the fusion net scores {self.members.fusion.config.n_classes} classes, "
                    f"the model has {n}")
        return None


def _restore_tuned(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TunedText:
    """The adapted text member on this machine's copy of its base encoder."""
    from catalog_ml.features.model_files import text_encoder_folder
    from catalog_ml.features.runtime import resolve_runtime

    base = str(meta.get("base") or "")
    path = text_encoder_folder(base)
    if not (path / "config.json").is_file():
        raise ValueError(f"the tuned text member needs its base encoder at {path}, which is "
                         "not a model folder here (setting text_encoder_path)")
    method = str(meta.get("method") or "lora")  # models from before full fine-tuning: LoRA
    encoder = AdaptedTextEncoder.restore(path, arrays, f"{TUNED}.adapter", resolve_runtime(),
                                         method)
    return TunedText(encoder, SoftmaxLinear.from_tensors(arrays, f"{TUNED}.head"), base)


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What in the artifact's JSON would give NaN or wrong answers, or None."""
    classes = meta.get("classes")
    if not isinstance(classes, list) or not classes or len(set(map(str, classes))) != len(
            classes) or not all(isinstance(c, str) and c for c in classes):
        return "its classes are empty, repeated or not text"
    try:
        temperature = float(meta.get("temperature"))  # type: ignore[arg-type]
        threshold = float(meta.get("review_threshold"))  # type: ignore[arg-type]
        weights = {str(k): float(v) for k, v in dict(meta.get("weights") or {}).items()}
        level_weights = [float(w) for w in meta.get("level_weights") or []]
    except (TypeError, ValueError):
        return "temperature, review_threshold, weights or level_weights are not numbers"
    if not math.isfinite(temperature) or temperature <= 0:
        return f"temperature {temperature!r} is not a positive finite number"
    if not math.isfinite(threshold) or threshold < 0.0:
        # above 1 is fine: nothing is auto-accepted; below 0 would accept everything
        return f"review_threshold {threshold!r} is not a number >= 0"
    unknown = set(weights) - set(MEMBERS)
    if unknown:
        return f"weights name unknown members {sorted(unknown)}"
    if not all(math.isfinite(w) and w >= 0 for w in weights.values()) or sum(
            weights.values()) <= 0:
        return f"member weights {weights} are not non-negative with a positive sum"
    depth = Hierarchy.of(classes).depth
    if len(level_weights) not in (0, depth) or not all(
            math.isfinite(w) and w >= 0 for w in level_weights):
        return (f"level_weights {level_weights} are not {depth} non-negative numbers, one per "
                "level of the classes")
    return calibration_problem(meta.get("confidence_calibration"), len(classes))


def artifact_digest(files: dict[str, bytes]) -> str:
    """SHA-256 over the artifact's files by name: what the registry records and checks."""
    manifest = "".join(f"{name} {hashlib.sha256(files[name]).hexdigest()}\n"
                       for name in sorted(files))
    return hashlib.sha256(manifest.encode()).hexdigest()


def read_artifact(folder: str | Path, storage_options: dict[str, str] | None = None
                  ) -> dict[str, bytes]:
    """The artifact's files by name; ArtifactError when one is missing or unreadable."""
    filesystem, root = open_filesystem(str(folder), storage_options)
    files = {}
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        try:
            with filesystem.open_input_stream(f"{root}/{name}") as handle:
                files[name] = handle.read()
        except (FileNotFoundError, OSError) as exc:
            raise ArtifactError(f"{folder}: cannot read the model file {name} "
                                f"({getattr(exc, 'strerror', None) or exc})") from None
    return files
