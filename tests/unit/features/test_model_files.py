"""catalog_ml.features.model_files: the encoders' files are found and checked without torch."""

import subprocess
import sys

import pytest

from catalog_ml.errors import ConfigError
from catalog_ml.features.model_files import (
    check_image_weights,
    check_text_encoder,
    default_image_weights,
    text_encoder_folder,
)


def test_the_shipped_files_are_found_and_a_missing_one_names_its_setting(tmp_path):
    check_text_encoder(text_encoder_folder(""))
    assert default_image_weights("efficientnet-lite0").is_file()
    with pytest.raises(ConfigError, match=r"text_encoder_path.*no config\.json"):
        check_text_encoder(text_encoder_folder(str(tmp_path)))
    with pytest.raises(ConfigError, match="image_weights_path"):
        check_image_weights("efficientnet-lite0", str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match=r"image_encoder.*no weights shipped"):
        check_image_weights("resnet50", "")


def test_naming_the_encoders_imports_no_torch():
    """What lets a night name its encoders while a second process loads them."""
    code = ("import sys; from catalog_ml.config import Settings; "
            "from catalog_ml.features.encoders import EncoderSpec; "
            "EncoderSpec.from_settings(Settings()).check(); "
            "import catalog_ml.pipeline.embed, catalog_ml.pipeline.validate; "
            "print(sorted(m for m in ('torch', 'transformers', 'great_expectations') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
