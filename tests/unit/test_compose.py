"""docker-compose.yaml cannot rot: no Docker engine runs here, so the file is parsed and each
service's image build, command, variables and ports are checked against the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from catalog_ml.config import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
ONE_SHOT = {"airflow-init", "minio-buckets"}
TEST_SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "MINIO_ROOT_PASSWORD": "minio-secret",
                "AIRFLOW_SECRET_KEY": "k", "AIRFLOW_JWT_SECRET": "j",
                "CATALOG_ML_API_TOKEN": "api-secret"}
VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} with the given variables."""
    def one(match: re.Match) -> str:
        name, kind, rest = match.groups()
        if name in env:
            return env[name]
        if kind == "-":
            return rest
        raise AssertionError(f"${{{name}}} has no value and no default: {rest}")

    return VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    return {k: interpolate(str(v), TEST_SECRETS) for k, v in env.items()}


def uses_our_image(service: dict[str, Any]) -> bool:
    return service.get("image") == "catalog-ml:latest"


def test_the_image_builds_from_the_lock_file_and_copies_what_exists(services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for name in source.split():
            assert (ROOT / name.rstrip("/")).exists(), f"Dockerfile copies missing {name}"
    built = [name for name, s in services.items() if "build" in s]
    assert built and all(uses_our_image(services[n]) for n in built)
    for name in built:
        context = ROOT / services[name]["build"]["context"]
        assert (context / services[name]["build"]["dockerfile"]).is_file(), name


def test_every_catalog_ml_variable_is_a_setting_and_its_value_is_valid(services, monkeypatch):
    fields = {name.upper() for name in Settings.__dataclass_fields__}
    seen = 0
    for name, service in services.items():
        env = environment(service)
        ours = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        for key in ours:
            assert key[len(ENV_PREFIX):] in fields, f"{name}: {key} is no setting"
        if not ours:
            continue
        seen += 1
        for key in list(__import__("os").environ):
            if key.startswith(ENV_PREFIX):
                monkeypatch.delenv(key)
        for key, value in ours.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()  # a ConfigError here fails the test with its message
        assert settings.lake.startswith("s3://") and "{date}" in settings.dump_template
        assert settings.storage_options["AWS_SECRET_ACCESS_KEY"] == "minio-secret"
    assert seen >= 6  # the Airflow services and the Spark workers


def _port_of(service: dict[str, Any], flag: str) -> str | None:
    command = service.get("command") or []
    if isinstance(command, list) and flag in command:
        return str(command[command.index(flag) + 1])
    return None


def test_addresses_in_the_settings_point_at_services_and_their_ports(services):
    env = environment(services["airflow-scheduler"])
    endpoint = urlparse(json.loads(env["CATALOG_ML_STORAGE_OPTIONS"])["AWS_ENDPOINT_URL"])
    assert endpoint.hostname in services
    assert str(endpoint.port) in " ".join(services[endpoint.hostname]["command"])
    master = urlparse(env["CATALOG_ML_SPARK_MASTER"])
    assert master.scheme == "spark" and master.hostname in services
    assert _port_of(services[master.hostname], "--port") == str(master.port)
    assert _port_of(services[master.hostname], "--host") == master.hostname
    for name, service in services.items():
        command = service.get("command") or []
        if "org.apache.spark.deploy.worker.Worker" in command:
            assert command[-1] == env["CATALOG_ML_SPARK_MASTER"], name
    execution = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert _port_of(services[execution.hostname], "--port") == str(execution.port)
    driver = json.loads(env["CATALOG_ML_SPARK_CONF"])["spark.driver.host"]
    assert services[driver].get("hostname") == driver  # executors call the driver back here
    database = urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert database.hostname in services and database.password == "pg-secret"


def test_published_ports_bind_loopback_and_match_what_listens(services):
    for name, service in services.items():
        for mapping in service.get("ports", []):
            host, _published, inner = str(mapping).split(":")
            assert host == "127.0.0.1", f"{name} publishes {mapping} on every interface"
            listening = " ".join(str(c) for c in service.get("command") or [])
            for volume in service.get("volumes", []):  # a proxy's port is in its config
                source = str(volume).split(":")[0]
                if source.startswith("./") and (ROOT / source).is_file():
                    listening += (ROOT / source).read_text()
            assert inner in listening, f"{name}: nothing listens on {inner}"


def test_long_running_services_have_healthchecks_and_dependencies_exist(services):
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, name
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            wanted = ("service_completed_successfully" if needed in ONE_SHOT
                      else "service_healthy")
            assert how["condition"] == wanted, (name, needed)


def test_commands_of_our_image_name_programs_and_subcommands_that_exist(services):
    import pyspark

    spark_jars = " ".join(p.name for p in (Path(pyspark.__file__).parent / "jars").iterdir())
    assert "spark-core" in spark_jars
    airflow_help = subprocess.run([str(BIN / "airflow"), "--help"], capture_output=True,
                                  text=True, check=True).stdout
    for name, service in services.items():
        if not uses_our_image(service):
            continue
        command = service.get("command") or []
        program = command[0]
        if program == "spark-class":
            assert (Path(pyspark.__file__).parent / "bin" / "spark-class").exists()
            assert command[1] in ("org.apache.spark.deploy.master.Master",
                                  "org.apache.spark.deploy.worker.Worker"), name
        elif program == "airflow":
            assert command[1] in airflow_help, f"{name}: airflow {command[1]}?"
        elif program == "/bin/sh":
            assert "airflow db migrate" in command[-1], name
        else:
            assert shutil.which(program, path=str(BIN)), f"{name}: {program} not installed"


def test_the_gpu_worker_is_an_optional_profile_with_a_device_reservation(services):
    gpu = services["spark-worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    plain = [n for n, s in services.items() if "worker.Worker" in " ".join(s.get("command", []))
             and not s.get("profiles")]
    assert len(plain) >= 2


def test_secrets_have_no_default_in_the_file(compose):
    text = (ROOT / "docker-compose.yaml").read_text()
    for secret in TEST_SECRETS:
        for match in re.finditer(r"\$\{" + secret + r"(:?[-?])?", text):
            assert match.group(1) in (":?", "?"), f"{secret} must be required, not defaulted"
    assert (ROOT / ".env.example").is_file()


def test_the_api_needs_its_token_and_sits_behind_the_balancer(services):
    api = services["api"]
    env = environment(api)
    assert env["CATALOG_ML_API_TOKEN"] == "api-secret"
    assert _port_of(api, "--host") == "0.0.0.0" and api["deploy"]["replicas"] >= 2
    assert "ports" not in api  # reached through api-gateway only
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    assert f"http://api:{_port_of(api, '--port')}" in config
    assert services["api-gateway"]["depends_on"]["api"]["condition"] == "service_healthy"
