"""catalog_ml.features.encoders: the encoder version and the checks before Spark starts."""

import pytest

from catalog_ml.config import load_settings
from catalog_ml.features.encoders import EncoderSpec
from catalog_ml.features.image import ImageEncoder
from catalog_ml.features.runtime import resolve_runtime


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
