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


@pytest.mark.parametrize(("change", "setting"), [
    ({"top_k": 0}, "top_k"),
    ({"spark_driver_memory": "lots"}, "spark_driver_memory"),
    ({"spark_master": "local[two]"}, "spark_master"),
    ({"train_epochs": 0}, "train_epochs"),
    ({"image_encoder": "vgg"}, "image_encoder"),
    ({"review_precision": 1.0}, "review_precision"),
    ({"max_image_pixels": 0}, "max_image_pixels"),
    ({"image_allowed_hosts": ["http://x/"]}, "image_allowed_hosts"),
    ({"dump_template": "/landing/{night}"}, "dump_template"),
])
def test_settings_are_checked_where_they_are_made_also_through_replace(change, setting):
    base = load_settings()
    with pytest.raises(ConfigError, match=setting):
        base.replace(**change)
    with pytest.raises(ConfigError, match=setting):
        load_settings(**{k: str(v) if not isinstance(v, list) else ",".join(v)
                         for k, v in change.items()})


def test_replace_refuses_a_value_of_the_wrong_type():
    with pytest.raises(ConfigError, match="top_k"):
        load_settings().replace(top_k="3")
    with pytest.raises(ConfigError, match="check_images"):
        load_settings().replace(check_images=1)


def test_replace_refuses_an_unknown_setting():
    with pytest.raises(ConfigError, match="topk"):
        load_settings().replace(topk=3)


def test_a_missing_or_broken_settings_file_names_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"nope\.toml does not exist"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("lake = \n")
    with pytest.raises(ConfigError, match=r"broken\.toml is not valid TOML"):
        load_settings(broken)


def test_lists_come_from_json_or_commas(monkeypatch):
    monkeypatch.setenv("CATALOG_ML_IMAGE_ALLOWED_HOSTS", "cdn.shop.example, *.img.example")
    assert load_settings().image_allowed_hosts == ["cdn.shop.example", "*.img.example"]
    monkeypatch.setenv("CATALOG_ML_IMAGE_ALLOWED_HOSTS", '["a.example"]')
    assert load_settings().image_allowed_hosts == ["a.example"]


def test_a_variable_that_is_no_setting_is_named_once_with_the_nearest(monkeypatch, caplog):
    import catalog_ml.config as config

    monkeypatch.setattr(config, "_warned", set())
    monkeypatch.setenv("CATALOG_ML_TOPK", "3")
    monkeypatch.setenv("CATALOG_ML_TOP_K", "4")
    monkeypatch.setenv("CATALOG_ML_CONFIG_DIR_X", "1")
    with caplog.at_level("WARNING", logger="catalog_ml.config"):
        assert load_settings().top_k == 4
        load_settings()
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2
    assert any("CATALOG_ML_TOPK is not a catalog-ml setting" in m
               and "did you mean CATALOG_ML_TOP_K?" in m for m in warned)
    assert not any("CATALOG_ML_TOP_K " in m for m in warned)


def test_a_path_setting_that_is_not_utf8_is_a_configuration_error():
    import os

    with pytest.raises(ConfigError, match=r"setting 'lake'.*not UTF-8 text"):
        load_settings(lake=os.fsdecode(b"/tmp/l\xe9ke"))
    with pytest.raises(ConfigError, match="setting 'storage_options'"):
        load_settings(storage_options={"key": os.fsdecode(b"\xff")})
