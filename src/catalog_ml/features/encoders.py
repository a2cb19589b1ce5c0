"""The encoder pair of a run, its version string, and a per-process cache.

Spark reuses Python workers (``spark.python.worker.reuse``), so a module-level cache means the
models load once per worker, not once per partition.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from catalog_ml.config import Settings
from catalog_ml.features.remote import ImageLimits

log = logging.getLogger(__name__)
_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class EncoderSpec:
    """Everything the encoders need; ``version`` names only what decides the vectors' values
    (batch sizes, device and precision change speed, not the embedding space)."""

    text_path: str
    text_max_tokens: int
    image_encoder: str
    image_weights_path: str
    image_size: int
    text_batch_size: int = 32
    image_batch_size: int = 32
    device: str = "auto"
    precision: str = "auto"
    engine: str = "auto"  # setting inference_engine: auto | torch | onnx
    max_image_bytes: int = 20_000_000
    max_image_pixels: int = 50_000_000
    image_allowed_hosts: tuple[str, ...] = ("*",)
    image_allow_private_networks: bool = False
    image_fetch_timeout_s: float = 10.0

    def image_limits(self) -> ImageLimits:
        return ImageLimits.build(self.max_image_bytes, self.max_image_pixels,
                                 self.image_allowed_hosts, self.image_allow_private_networks,
                                 self.image_fetch_timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> EncoderSpec:
        from catalog_ml.features.model_files import text_encoder_folder

        return cls(
            text_path=str(text_encoder_folder(settings.text_encoder_path)),
            text_max_tokens=settings.text_max_tokens,
            image_encoder=settings.image_encoder,
            image_weights_path=settings.image_weights_path,
            image_size=settings.image_size,
            text_batch_size=settings.text_batch_size,
            image_batch_size=settings.image_batch_size,
            device=settings.device,
            precision=settings.precision,
            engine=settings.inference_engine,
            max_image_bytes=settings.max_image_bytes,
            max_image_pixels=settings.max_image_pixels,
            image_allowed_hosts=tuple(settings.image_allowed_hosts),
            image_allow_private_networks=settings.image_allow_private_networks,
            image_fetch_timeout_s=settings.image_fetch_timeout_s,
        )

    @property
    def version(self) -> str:
        """Stable name of the embedding space, e.g. ``all-MiniLM-L6-v2.128+efficientnet-lite0.224``.

        Precision and engine are not part of it: bf16 and fp32 vectors agree to a cosine of
        0.999+ (text) / 0.998+ (image); ONNX Runtime's fp32 equals torch's.
        """
        text_name = _model_name(Path(self.text_path))
        weights = Path(self.image_weights_path).name if self.image_weights_path else "shipped"
        image_name = self.image_encoder if weights == "shipped" else f"{self.image_encoder}-" + \
            hashlib.sha256(weights.encode()).hexdigest()[:6]
        return f"{text_name}.{self.text_max_tokens}+{image_name}.{self.image_size}"

    def check(self) -> EncoderSpec:
        """ConfigError naming the setting when a model file is missing (before any Spark job)."""
        from catalog_ml.features.model_files import check_image_weights, check_text_encoder

        check_text_encoder(Path(self.text_path))
        check_image_weights(self.image_encoder, self.image_weights_path)
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _model_name(path: Path) -> str:
    """The shipped MiniLM by its name; any other folder by name and a digest of its config."""
    from catalog_ml.features.model_files import default_text_encoder_path

    if path.resolve() == default_text_encoder_path().resolve():
        return "all-MiniLM-L6-v2"
    try:
        digest = hashlib.sha256((path / "config.json").read_bytes()).hexdigest()[:6]
    except OSError:
        digest = "noconfig"
    return f"{path.name}-{digest}"


class Encoders:
    def __init__(self, spec: EncoderSpec, storage_options: dict[str, str] | None = None
                 ) -> None:
        from catalog_ml.features.image import ImageEncoder
        from catalog_ml.features.onnx_engine import resolve_engine
        from catalog_ml.features.runtime import resolve_runtime
        from catalog_ml.features.text import TextEncoder

        self.spec = spec
        runtime = resolve_runtime(spec.device, spec.precision)
        self.engine = resolve_engine(spec.engine, runtime.device)
        log.info("loading encoders %s on %s (%s)", spec.version, runtime.device,
                 "ONNX Runtime, fp32" if self.engine == "onnx" else runtime.dtype)
        self.text = TextEncoder(spec.text_path, runtime, spec.text_max_tokens, self.engine)
        self.image = ImageEncoder(spec.image_encoder, runtime, spec.image_size,
                                  spec.image_weights_path or None, spec.image_limits(),
                                  storage_options, self.engine)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        return self.text.encode(texts, self.spec.text_batch_size)

    def encode_images(self, uris: list[str | None]) -> tuple[list[np.ndarray | None], list[str]]:
        return self.image.encode(uris, self.spec.image_batch_size)


def cached_encoders(spec: EncoderSpec, storage_options: dict[str, str] | None = None
                    ) -> Encoders:
    """The worker's encoders; ``storage_options`` (for photos on an object store) are kept
    out of the spec, which names the embedding space and is logged."""
    key = spec.to_json()
    if key not in _CACHE:
        _CACHE.clear()  # one pair per worker: a new spec replaces, never accumulates
        _CACHE[key] = Encoders(spec, storage_options)
    return _CACHE[key]
