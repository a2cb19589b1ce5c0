from pathlib import Path

import pytest

from catalog_ml.config import load_settings
from catalog_ml.errors import ConfigError


def test_environment_overrides_defaults_and_file(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('lake = "/from/file"\nreview_threshold = 0.7\n')
    monkeypatch.setenv("CATALOG_ML_LAKE", "/from/env")
    settings = load_settings(config)
    assert settings.lake == "/from/env"
    assert settings.review_threshold == 0.7


def test_explicit_override_wins_over_environment(monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_ML_LAKE", "/from/env")
    assert load_settings(lake="/explicit").lake == "/explicit"


def test_typed_values_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_ML_CHECK_IMAGES", "no")
    monkeypatch.setenv("CATALOG_ML_SPARK_CONF", '{"spark.executor.memory": "8g"}')
    settings = load_settings()
    assert settings.check_images is False
    assert settings.spark_conf == {"spark.executor.memory": "8g"}


def test_bad_value_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_ML_MAX_REJECT_SHARE", "lots")
    with pytest.raises(ConfigError, match="max_reject_share"):
        load_settings()


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('lakes = "/typo"\n')
    with pytest.raises(ConfigError, match="lakes"):
        load_settings(config)


def test_dump_template_needs_the_date() -> None:
    with pytest.raises(ConfigError, match="dump_template"):
        load_settings(dump_template="/landing/today")
    settings = load_settings(dump_template="/landing/{ds_nodash}/dump")
    assert settings.dump_dir("2026-11-02") == "/landing/20261102/dump"
