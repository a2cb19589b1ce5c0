"""catalog_ml.features.image: the real EfficientNet-Lite0 encoder on real photos."""

import numpy as np
import pytest
from PIL import Image

from catalog_ml.features.image import ImageEncoder
from catalog_ml.features.runtime import resolve_runtime
from tests.conftest import FASHION


def test_image_encoder_on_real_photos_and_unreadable_files(tmp_path):
    photos = sorted(FASHION.glob("images/*.jpg"))[:3] if FASHION.exists() else []
    if not photos:
        pytest.skip("real photos not found beside the clone")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"nope")
    png = tmp_path / "p.png"
    Image.new("RGBA", (40, 80), (0, 0, 255, 128)).save(png)
    encoder = ImageEncoder("efficientnet-lite0", resolve_runtime("cpu", "fp32"))
    uris = [p.as_uri() for p in photos] + [None, broken.as_uri(), png.as_uri()]
    vectors, statuses = encoder.encode(uris, batch_size=2)
    assert statuses[:3] == ["ok"] * 3 and statuses[3] == "none"
    assert statuses[4].startswith("unreadable") and vectors[4] is None
    assert statuses[5] == "ok" and vectors[5].shape == (1280,)
    assert all(np.isfinite(v).all() and v.std() > 0 for v in vectors[:3])


def test_onnx_engine_gives_torch_fp32_vectors():
    photos = sorted(FASHION.glob("images/*.jpg"))[:5] if FASHION.exists() else []
    if not photos:
        pytest.skip("real photos not found beside the clone")
    uris = [p.as_uri() for p in photos]
    reference, _ = ImageEncoder("efficientnet-lite0", resolve_runtime("cpu", "fp32")).encode(
        uris, batch_size=2)
    onnx = ImageEncoder("efficientnet-lite0", resolve_runtime("cpu", "fp32"), engine="onnx")
    vectors, statuses = onnx.encode([*uris, None], batch_size=4)
    assert onnx.model is None and statuses == ["ok"] * 5 + ["none"]
    for expected, got in zip(reference, vectors, strict=False):
        cosine = float(expected @ got / np.linalg.norm(expected) / np.linalg.norm(got))
        assert cosine > 0.99999
