"""Real servers for tests, on 127.0.0.1 only, each stopped by PID: an S3 server (moto, from
PyPI) and a Spark standalone cluster (master and workers from the pyspark wheel)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

BIN = Path(sys.executable).parent
SPARK_HOME = Path(pyspark.__file__).parent
KEY, SECRET = "catalog-ml-test", "catalog-ml-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout_s: float = 90
                  ) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}): "
                                 f"{log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"nothing listens on {port} after {timeout_s} s: "
                         f"{log.read_text(errors='replace')[-3000:]}")


@dataclass
class Servers:
    """Processes started by a test; ``stop()`` ends each one's process group by PID."""

    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None
              ) -> tuple[subprocess.Popen, Path]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 - the server writes it until stopped
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   env=env or os.environ.copy(), start_new_session=True)
        handle.close()
        self.processes.append(process)
        return process, log

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def start_s3(servers: Servers, buckets: tuple[str, ...]) -> dict[str, str]:
    """A moto S3 server with ``buckets``; returns the storage options that reach it."""
    import boto3

    port = free_port()
    process, log = servers.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1",
                                        "-p", str(port)])
    wait_for_port(port, process, log)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                          aws_secret_access_key=SECRET, region_name="us-east-1")
    for bucket in buckets:
        client.create_bucket(Bucket=bucket)
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}


def upload_folder(folder: Path, uri: str, options: dict[str, str]) -> None:
    import boto3

    bucket, _, prefix = uri[len("s3://"):].partition("/")
    client = boto3.client("s3", endpoint_url=options["AWS_ENDPOINT_URL"],
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          region_name="us-east-1")
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")


def start_spark_cluster(servers: Servers, workers: int = 2, cores: int = 1,
                        memory: str = "2g") -> str:
    """A standalone master and ``workers`` workers on loopback; returns spark://HOST:PORT."""
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    process, log = servers.start("spark-master", [
        spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
        "--port", str(port), "--webui-port", str(ui)], env)
    wait_for_port(port, process, log)
    master = f"spark://127.0.0.1:{port}"
    for index in range(workers):
        work = servers.logs / f"worker-{index}"
        work.mkdir(parents=True, exist_ok=True)
        servers.start(f"spark-worker-{index}", [
            spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
            "--work-dir", str(work), master], env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the master's JSON view lists the workers that joined
        with contextlib.suppress(OSError, ValueError):
            import json

            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as reply:
                alive = [w for w in json.load(reply).get("workers", [])
                         if w.get("state") == "ALIVE"]
            if len(alive) == workers:
                return master
        time.sleep(1)
    raise AssertionError(f"{workers} Spark workers did not join {master}")


@contextlib.contextmanager
def running(logs: Path) -> Iterator[Servers]:
    servers = Servers(logs)
    try:
        yield servers
    finally:
        servers.stop()
