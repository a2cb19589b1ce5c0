"""catalog_ml.features.text: the real MiniLM encoder (from a PyPI wheel) and the text it reads."""

import numpy as np
import pytest

from catalog_ml.features.model_files import default_text_encoder_path
from catalog_ml.features.runtime import resolve_runtime
from catalog_ml.features.text import TextEncoder, product_text


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


def test_onnx_engine_gives_torch_fp32_vectors(text_encoder):
    onnx = TextEncoder(default_text_encoder_path(), resolve_runtime("cpu", "fp32"),
                       engine="onnx")
    texts = ["Nike Men Black Running Shoes", "Titan Women Analog Watch",
             "a much longer description " * 20, "x"]
    torch_vectors, onnx_vectors = text_encoder.encode(texts), onnx.encode(texts, batch_size=3)
    assert onnx.session is not None and onnx.pooled is None
    assert (torch_vectors * onnx_vectors).sum(1).min() > 0.99999
    # the graph takes any batch and length the tokenizer gives it
    assert onnx.encode(["one"]).shape == (1, 384)
