"""The real pretrained encoders shipped in PyPI wheels (MiniLM, EfficientNet-Lite0)."""

import numpy as np
import pytest
from PIL import Image

from catalog_ml.config import load_settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.features.image import ImageEncoder
from catalog_ml.features.runtime import resolve_runtime
from catalog_ml.features.text import TextEncoder, default_text_encoder_path, product_text

from ..conftest import FASHION


@pytest.fixture(scope="module")
def text_encoder():
    return TextEncoder(default_text_encoder_path(), resolve_runtime("cpu", "fp32"))


def test_text_vectors_are_normalised_and_semantic(text_encoder):
    vectors = text_encoder.encode(["red cotton t-shirt", "crimson tee for men",
                                   "15 inch gaming laptop"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_batching_and_order_do_not_change_vectors(text_encoder):
    texts = [f"product number {i} " + "word " * i for i in range(10)]
    together = text_encoder.encode(texts, batch_size=4)
    alone = np.stack([text_encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_bf16_stays_close_to_fp32(text_encoder):
    fast = TextEncoder(default_text_encoder_path(), resolve_runtime("cpu", "bf16"))
    texts = ["Nike Men Black Running Shoes", "Titan Women Analog Watch"]
    cosine = (text_encoder.encode(texts) * fast.encode(texts)).sum(1)
    assert cosine.min() > 0.999


def test_product_text_puts_title_first():
    assert product_text("Lamp", None, "  ") == "Lamp"
    assert product_text("Lamp", "Kivo", "Brass") == "Lamp. Kivo. Brass"


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


def test_encoder_version_names_the_models_not_the_precision():
    fast = EncoderSpec.from_settings(load_settings(precision="bf16"))
    exact = EncoderSpec.from_settings(load_settings(precision="fp32"))
    assert fast.version == exact.version == "all-MiniLM-L6-v2.128+efficientnet-lite0.224"
    assert EncoderSpec.from_settings(load_settings(text_max_tokens=64)).version != fast.version


def test_encoder_without_shipped_weights_says_what_to_set(tmp_path):
    from catalog_ml.errors import ConfigError
    from catalog_ml.features.encoders import EncoderSpec

    with pytest.raises(ConfigError, match="image_weights_path"):
        ImageEncoder("resnet50", resolve_runtime("cpu", "fp32"))
    spec = EncoderSpec(text_path=str(tmp_path), text_max_tokens=128,
                       image_encoder="efficientnet-lite0", image_weights_path="", image_size=224)
    with pytest.raises(ConfigError, match=r"text_encoder_path.*no config\.json"):
        spec.check()
