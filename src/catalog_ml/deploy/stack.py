"""A production-like stack on one machine: ``catalog-ml stack up`` / ``down`` / ``status``.

Started, all bound to 127.0.0.1:

- a **Spark Connect server** (its jar ships in the pyspark wheel) running ``local[N]``: every
  task connects to it instead of starting a JVM of its own, and because all clients share one
  named session the server's Python workers, with the encoders and the champion loaded in them,
  live from one task and night to the next;
- Airflow's **api-server** (UI and REST API v2), **scheduler** (LocalExecutor), **dag-processor**
  and **triggerer** (for the deferrable dump sensor), on SQLite in ``<home>/airflow``, with the
  project's ``dags/``. Their log servers are not started: with LocalExecutor the api-server
  reads task logs from the local folder, and those servers would bind every interface;
- a resident **`catalog-ml worker`** on a Unix socket in ``<home>/run`` (``worker_socket`` in
  every Airflow process's environment): each step task sends its step there and the step runs
  with GX, torch and the steps' modules already imported, instead of importing them in a fresh
  task process. A task that finds no worker, or one with other settings, runs its step itself.

Each process is its own session (process group); its PID is kept in ``<home>/pids`` and
``down`` stops it by PID. Everything the stack writes stays under ``<home>`` (default
``.stack``), except the lake and the landing folder, which come from the settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog_ml.config import Settings, project_root
from catalog_ml.errors import ConfigError, EnvironmentFault
from catalog_ml.lake.files import is_remote
from catalog_ml.pipeline.worker import ping

AIRFLOW_SERVERS = ("api-server", "scheduler", "dag-processor", "triggerer")
SPARK = "spark-connect"
WORKER = "worker"
MAX_SOCKET_PATH = 100  # a Unix socket's path must fit in 108 bytes (sun_path)
USER = "admin"
CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


@dataclass(frozen=True)
class StackConfig:
    home: Path = field(default_factory=lambda: project_root() / ".stack")
    api_port: int = 8080
    spark_port: int = 15002
    spark_cores: int = field(default_factory=lambda: os.cpu_count() or 2)
    parallelism: int = 4  # Airflow tasks at once (LocalExecutor workers)
    worker: bool = True  # a resident catalog-ml worker that runs the step tasks' steps warm

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def spark_url(self) -> str:
        return f"sc://127.0.0.1:{self.spark_port}"


def worker_socket(config: StackConfig, settings: Settings) -> str:
    """Where the stack's worker listens: ``worker_socket`` when set, else ``<home>/run``."""
    path = settings.worker_socket or str(config.home / "run" / "worker.sock")
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ConfigError(f"the worker's socket path {path} is longer than {MAX_SOCKET_PATH} "
                          "bytes (a Unix socket's limit): set worker_socket "
                          "(CATALOG_ML_WORKER_SOCKET) to a shorter path, or start the stack "
                          "with --no-worker")
    return path


def _secret(home: Path, name: str) -> str:
    """A random secret kept in the stack's folder, so restarts keep sessions and tokens."""
    path = home / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def environment(config: StackConfig, settings: Settings) -> dict[str, str]:
    """Every variable the servers and the tasks need; README lists the same."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}  # keeps yours
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "PATH": f"{venv_bin}:{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(config.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # SQLite with five writers: wait for the lock instead of failing with "locked"
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            f"sqlite:///{config.airflow_home / 'airflow.db'}?timeout=30",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(config.parallelism),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(config.api_port),
        "AIRFLOW__API__BASE_URL": config.url,
        "AIRFLOW__API__SECRET_KEY": _secret(config.home, "api_secret_key"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(config.home, "jwt_secret"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "GX_ANALYTICS_ENABLED": "false",
        "CATALOG_ML_LAKE": settings.lake,
        "CATALOG_ML_DUMP_TEMPLATE": settings.dump_template,
        "CATALOG_ML_SPARK_MASTER": config.spark_url,
        # a backfill night waits for the previous one instead of failing after 5 minutes
        "CATALOG_ML_LAKE_LOCK_TIMEOUT_S": str(max(settings.lake_lock_timeout_s, 3600)),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    })
    if settings.storage_options:
        env["CATALOG_ML_STORAGE_OPTIONS"] = json.dumps(settings.storage_options)
    if config.worker:  # the step tasks send their steps to it (the worker reads it too)
        env["CATALOG_ML_WORKER_SOCKET"] = worker_socket(config, settings)
    else:
        env.pop("CATALOG_ML_WORKER_SOCKET", None)
    return env


def _spark_command(config: StackConfig, settings: Settings) -> list[str]:
    import pyspark

    from catalog_ml.lake.spark import spark_conf

    spark_home = Path(str(pyspark.__file__)).parent
    conf = {**spark_conf(settings.replace(spark_master="local[*]")),
            "spark.master": f"local[{config.spark_cores}]",
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(config.spark_port),
            "spark.connect.session.manager.defaultSessionTimeout": "30d",
            "spark.app.name": "catalog-ml (stack)"}
    args = [str(spark_home / "bin" / "spark-submit"), "--class", CONNECT_CLASS]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return [*args, "spark-internal"]


def _airflow_command(server: str, config: StackConfig) -> list[str]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    if server == "api-server":
        return [airflow, server, "-H", "127.0.0.1", "-p", str(config.api_port)]
    if server in ("scheduler", "triggerer"):
        return [airflow, server, "--skip-serve-logs"]
    return [airflow, server]


def _worker_command(config: StackConfig, settings: Settings) -> list[str]:
    return [str(Path(sys.executable).with_name("catalog-ml")), "worker", "--socket",
            worker_socket(config, settings)]


def _pid_file(config: StackConfig, name: str) -> Path:
    return config.home / "pids" / f"{name}.pid"


def _running(config: StackConfig, name: str) -> int | None:
    path = _pid_file(config, name)
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


def _start(config: StackConfig, name: str, command: list[str], env: dict[str, str]) -> int:
    if (pid := _running(config, name)) is not None:
        return pid
    logs = config.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   cwd=config.home)
    _pid_file(config, name).parent.mkdir(parents=True, exist_ok=True)
    _pid_file(config, name).write_text(str(process.pid))
    return process.pid


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _wait(what: str, ready: Callable[[], bool], timeout_s: float, config: StackConfig,
          name: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if _running(config, name) is None:
            raise EnvironmentFault(f"{what} exited at start; see {config.home}/logs/{name}.log")
        time.sleep(1)
    raise EnvironmentFault(f"{what} not ready after {timeout_s:.0f} s; see "
                           f"{config.home}/logs/{name}.log")


def _healthy(config: StackConfig) -> bool:
    try:
        with urllib.request.urlopen(f"{config.url}/api/v2/monitor/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def password(config: StackConfig) -> str | None:
    """The UI password the api-server generated for ``admin``."""
    path = config.airflow_home / "simple_auth_manager_passwords.json.generated"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text()).get(USER)
    return None


def up(config: StackConfig, settings: Settings) -> dict[str, str]:
    """Start what is not running yet; returns where to find it."""
    config.home.mkdir(parents=True, exist_ok=True)
    for port, name in ((config.spark_port, SPARK), (config.api_port, "api-server")):
        if _running(config, name) is None and not _port_free(port):
            raise ConfigError(f"port {port} on 127.0.0.1 is taken (needed by {name}); stop "
                              "what holds it or choose another port")
    env = environment(config, settings)
    landing = settings.dump_template.split("{", 1)[0]
    if not is_remote(landing):  # an object store's prefixes need no creating
        Path(landing).mkdir(parents=True, exist_ok=True)
    _start(config, SPARK, _spark_command(config, settings), env)
    if config.worker:  # it loads while Airflow starts; a task meanwhile waits in its queue
        _start(config, WORKER, _worker_command(config, settings), env)
    if not (config.airflow_home / "airflow.db").exists():
        migrate = subprocess.run([str(Path(sys.executable).with_name("airflow")), "db",
                                  "migrate"], env=env, capture_output=True, text=True,
                                 check=False)
        if migrate.returncode:
            raise EnvironmentFault(f"airflow db migrate failed: {migrate.stderr[-500:]}")
    for server in AIRFLOW_SERVERS:
        _start(config, server, _airflow_command(server, config), env)
    _wait("Spark Connect", lambda: not _port_free(config.spark_port), 120, config, SPARK)
    _wait("Airflow's api-server", lambda: _healthy(config), 120, config, "api-server")
    _wait("the UI password", lambda: password(config) is not None, 30, config, "api-server")
    if config.worker:
        path = worker_socket(config, settings)
        _wait("the resident worker", lambda: ping(path, timeout_s=2) is not None, 300, config,
              WORKER)
    return info(config, settings)


def info(config: StackConfig, settings: Settings) -> dict[str, str]:
    return {"ui": config.url, "user": USER, "password": password(config) or "(not generated yet)",
            "spark": config.spark_url, "lake": settings.lake,
            "landing": settings.dump_template, "logs": str(config.home / "logs"),
            "airflow_home": str(config.airflow_home),
            "worker": worker_socket(config, settings) if config.worker else ""}


def status(config: StackConfig) -> dict[str, int | None]:
    return {name: _running(config, name) for name in (SPARK, WORKER, *AIRFLOW_SERVERS)}


def down(config: StackConfig, timeout_s: float = 30) -> list[str]:
    """Stop every process of the stack by PID (its whole process group); returns the names."""
    stopped = []
    for name in (*reversed(AIRFLOW_SERVERS), WORKER, SPARK):
        pid = _running(config, name)
        if pid is None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.5)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        _pid_file(config, name).unlink(missing_ok=True)
        stopped.append(name)
    return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    return True
