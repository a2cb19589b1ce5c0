"""catalog_ml.deploy.stack without starting it: where the resident worker listens and that
every process of the stack is told so. tests/integration/deploy/test_stack.py starts the real
stack and runs nights through it."""

from __future__ import annotations

import pytest

from catalog_ml.config import load_settings
from catalog_ml.deploy import stack
from catalog_ml.errors import ConfigError


@pytest.fixture()
def settings(tmp_path):
    return load_settings(lake=str(tmp_path / "lake"))


def test_the_workers_socket_is_in_the_stacks_home_and_in_every_processs_environment(
        tmp_path, settings):
    config = stack.StackConfig(home=tmp_path / "stack")
    env = stack.environment(config, settings)
    assert env["CATALOG_ML_WORKER_SOCKET"] == str(tmp_path / "stack" / "run" / "worker.sock")
    assert stack.info(config, settings)["worker"] == env["CATALOG_ML_WORKER_SOCKET"]
    assert stack._worker_command(config, settings)[-2:] == ["--socket",
                                                            env["CATALOG_ML_WORKER_SOCKET"]]
    assert stack.WORKER in stack.status(config)


def test_a_configured_worker_socket_is_kept_and_no_worker_means_no_socket(
        tmp_path, settings, monkeypatch):
    mine = settings.replace(worker_socket=str(tmp_path / "mine.sock"))
    config = stack.StackConfig(home=tmp_path / "stack")
    assert stack.environment(config, mine)["CATALOG_ML_WORKER_SOCKET"] == str(
        tmp_path / "mine.sock")
    monkeypatch.setenv("CATALOG_ML_WORKER_SOCKET", str(tmp_path / "inherited.sock"))
    off = stack.StackConfig(home=tmp_path / "stack", worker=False)
    assert "CATALOG_ML_WORKER_SOCKET" not in stack.environment(off, settings)
    assert stack.info(off, settings)["worker"] == ""


def test_a_socket_path_too_long_for_unix_is_a_setting_error_that_says_what_to_do(
        tmp_path, settings):
    config = stack.StackConfig(home=tmp_path / ("a-long-folder-name" * 6))
    with pytest.raises(ConfigError, match=r"longer than 100 bytes.*--no-worker"):
        stack.environment(config, settings)
    assert "CATALOG_ML_WORKER_SOCKET" not in stack.environment(
        stack.StackConfig(home=config.home, worker=False), settings)
