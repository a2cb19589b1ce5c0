"""A 150-product night, step by step: cold (a fresh local Spark per night) against the warm stack.

    .venv/bin/python benchmarks/warm_night.py [--products 150] [--keep DIR]

In one run, on real fashion products with photos and a trained champion:
1. cold: `catalog-ml nightly` with spark_master=local[2]: a JVM and both encoders per night;
2. warm CLI: the same command against the stack's Spark Connect server (after one night that
   warms it), so the cost left is the Python start of the CLI and the work itself;
3. warm Airflow: the night triggered through the REST API of `catalog-ml stack up`; per-task
   wall time from the task instances. Each task is a fresh Python process that sends its step
   to the stack's resident worker; then the worker is stopped and another night runs with each
   task importing its step itself and connecting to the warm Spark (as before the worker);
4. a step with nothing to do: the same night's embed step again, cold and warm.
Each night has products never seen before, so embed and classify do real work. Loopback only;
the stack is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
CLI = str(Path(sys.executable).with_name("catalog-ml"))
STEPS = ("validate", "ingest", "embed", "classify", "report")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(env: dict[str, str], *args: str) -> tuple[float, dict[str, float], str]:
    started = time.monotonic()
    result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    steps = {m.group(1): json.loads(m.group(2))["seconds"]
             for m in re.finditer(r"^\[[\d-]+\] (\w+): (\{.*\})$", result.stdout, re.M)
             if m.group(1) in STEPS}
    return wall, steps, result.stdout


def airflow_night(url: str, password: str, night: str) -> tuple[float, dict[str, float]]:
    def call(method: str, path: str, body: object = None, token: str | None = None) -> object:
        request = urllib.request.Request(
            url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"null")

    token = call("POST", "/auth/token", {"username": "admin", "password": password})
    token = token["access_token"]  # type: ignore[index]
    for _ in range(60):  # the dag-processor parses dags/ within seconds of the start
        try:
            call("GET", "/api/v2/dags/catalog_nightly", token=token)
            break
        except OSError:
            time.sleep(2)
    run = call("POST", "/api/v2/dags/catalog_nightly/dagRuns",
               {"logical_date": f"{night}T00:00:00Z"}, token)
    run_id = run["dag_run_id"]  # type: ignore[index]
    started = time.monotonic()
    while True:
        state = call("GET", f"/api/v2/dags/catalog_nightly/dagRuns/{run_id}", token=token)
        if state["state"] in ("success", "failed"):  # type: ignore[index]
            break
        time.sleep(1)
    wall = time.monotonic() - started
    if state["state"] != "success":  # type: ignore[index]
        raise SystemExit(f"Airflow night {night} failed: {state}")
    tasks = call("GET", f"/api/v2/dags/catalog_nightly/dagRuns/{run_id}/taskInstances",
                 token=token)["task_instances"]  # type: ignore[index]
    return wall, {t["task_id"]: round(t["duration"] or 0, 1) for t in tasks}


def stop_worker(home: Path) -> None:
    """The stack's worker stopped (SIGTERM), so the next night's tasks run their steps alone."""
    import signal

    os.kill(int((home / "pids" / "worker.pid").read_text()), signal.SIGTERM)
    for _ in range(60):
        if not (home / "run" / "worker.sock").exists():
            return
        time.sleep(0.5)
    raise SystemExit("the stack's worker did not stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=150)
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    from conftest import fashion_rows, write_fashion_dump

    base = Path(args.keep or tempfile.mkdtemp(prefix="catalog-ml-warm-"))
    rows = fashion_rows().sample(frac=1.0, random_state=11)
    common = rows["category"].value_counts().index[:12]
    rows = rows[rows["category"].isin(common)]
    n = args.products
    nights = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05",
              "2026-11-06"]
    write_fashion_dump(base / "landing" / nights[0], rows.iloc[:300], labelled=True)
    for i, night in enumerate(nights[1:]):
        chunk = rows.iloc[300 + i * n:300 + (i + 1) * n]
        write_fashion_dump(base / "landing" / night, chunk, labelled=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_ML_", "AIRFLOW"))}
    env.update(CATALOG_ML_LAKE=str(base / "lake"), CATALOG_ML_SPARK_MASTER="local[2]",
               CATALOG_ML_DUMP_TEMPLATE=str(base / "landing" / "{date}"),
               CATALOG_ML_CV_FOLDS="2", CATALOG_ML_TRAIN_EPOCHS="10")
    print(f"work folder {base}; {n} products a night", flush=True)
    run_cli(env, "nightly", "--dump", str(base / "landing" / nights[0]), "--date", nights[0])
    subprocess.run([CLI, "train"], env=env, capture_output=True, check=True)
    cold_wall, cold, _ = run_cli(env, "nightly", "--dump", str(base / "landing" / nights[1]),
                                 "--date", nights[1])
    cold_empty, _, _ = run_cli(env, "nightly", "--dump", str(base / "landing" / nights[1]),
                               "--date", nights[1])

    stack = ["--home", str(base / "stack"), "--port", str(free_port()),
             "--spark-port", str(free_port())]
    up = subprocess.run([CLI, "stack", "up", *stack], env=env, capture_output=True, text=True)
    if up.returncode:
        raise SystemExit(up.stderr[-3000:])
    try:
        url = next(w for w in up.stdout.split() if w.startswith("http://127.0.0.1:"))
        password = up.stdout.split("password ")[1].split()[0]
        spark = next(w for w in up.stdout.split() if w.startswith("sc://"))
        warm_env = {**env, "CATALOG_ML_SPARK_MASTER": spark}
        run_cli(warm_env, "nightly", "--dump", str(base / "landing" / nights[2]), "--date",
                nights[2])  # warms the server's Python workers
        warm_wall, warm, _ = run_cli(warm_env, "nightly", "--dump",
                                     str(base / "landing" / nights[3]), "--date", nights[3])
        _, warm_again, _ = run_cli(warm_env, "nightly", "--dump",
                                   str(base / "landing" / nights[3]), "--date", nights[3])
        airflow_wall, airflow = airflow_night(url, password, nights[4])
        stop_worker(base / "stack")
        alone_wall, alone = airflow_night(url, password, nights[5])
    finally:
        subprocess.run([CLI, "stack", "down", *stack], env=env, capture_output=True)

    print(f"\n{'step':10} {'cold CLI':>10} {'warm CLI':>10} {'Airflow+worker':>15} "
          f"{'Airflow alone':>14}   (Airflow: task durations)")
    for step in STEPS:
        print(f"{step:10} {cold.get(step, 0):10.1f} {warm.get(step, 0):10.1f} "
              f"{airflow.get(step, 0):15.1f} {alone.get(step, 0):14.1f}")
    print(f"{'wait':10} {'':>10} {'':>10} {airflow.get('wait_for_dump', 0):15.1f} "
          f"{alone.get('wait_for_dump', 0):14.1f}")
    print(f"{'night':10} {cold_wall:10.1f} {warm_wall:10.1f} {airflow_wall:15.1f} "
          f"{alone_wall:14.1f}   (wall, s)")
    print(f"\nembed with nothing new: cold {cold.get('embed', 0):.1f} s in a new night vs "
          f"{warm_again.get('embed', 0):.1f} s warm (step time); a whole cold rerun "
          f"{cold_empty:.1f} s")
    print(f"warm CLI night / cold CLI night = {warm_wall / cold_wall:.2f}; "
          f"Airflow night {airflow_wall:.1f} s")


if __name__ == "__main__":
    main()
