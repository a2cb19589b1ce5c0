"""catalog-ml under a real Airflow, through the REST API v2, as a team runs it.

`catalog-ml stack up` starts Spark Connect, the resident worker (a Unix socket) and Airflow's
api-server, scheduler, dag-processor and triggerer on 127.0.0.1 (free ports, a throw-away
home); every night's step tasks run their steps in the worker. Everything else goes through
HTTP: backfills, a rerun with reprocess_behavior=completed, a retrain with Params whose
promotion starts catalog_reclassify through the scheduler, a missing dump and a gate failure
failing without retries with their message in the task log. Real Myntra products and photos,
the real encoders. The stack is stopped by PID at the end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from catalog_ml.lake import ALL_TABLES, Lake
from catalog_ml.lake.query import run_query
from catalog_ml.pipeline import worker
from tests.conftest import fashion_rows, write_fashion_dump

pytestmark = [pytest.mark.service, pytest.mark.slow]
CLI = str(Path(sys.executable).with_name("catalog-ml"))
BACKFILL = ("2026-11-01", "2026-11-02", "2026-11-03")
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
PER_NIGHT = 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """The Airflow REST API v2 with a JWT from the simple auth manager."""

    def __init__(self, url: str, user: str, password: str, log_file: Path | None = None
                 ) -> None:
        self.url = url
        self.log_file = log_file
        self.token = self._call("POST", "/auth/token",
                                {"username": user, "password": password})["access_token"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """One call, retried while SQLite is busy (503, or 500 "Database error").

        A write that failed on the database was rolled back, so sending it again is safe; where
        the retry meets 409 the first attempt did land after all, and its object is returned.
        """
        request = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     "Accept": "application/json",
                     **({"Authorization": f"Bearer {self.token}"}
                        if getattr(self, "token", None) else {})})
        for attempt in range(6):
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    return json.loads(reply.read().decode() or "null")
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:500]
                busy = exc.code == 503 or (exc.code == 500 and b"Database error" in detail)
                if busy and attempt < 5:
                    time.sleep(3 + 2 * attempt)
                    continue
                if exc.code == 409 and attempt and method == "POST":
                    return self._landed(path, body)
                raise AssertionError(f"{method} {path}: {exc.code} {detail!r}\n"
                                     f"{self._server_log(detail)}") from None
        raise AssertionError("not reached")

    def _landed(self, path: str, body: Any) -> Any:
        """The object a POST created although its reply was an error."""
        if path == "/api/v2/backfills":
            found = self.get(f"/api/v2/backfills?dag_id={body['dag_id']}")["backfills"]
            return max(found, key=lambda b: b["id"])
        return self.get(f"{path}/{body['dag_run_id']}")

    def _server_log(self, detail: bytes) -> str:
        """The api-server's log around the error ID it answered with, for CI's output."""
        if not getattr(self, "log_file", None) or b"ID " not in detail:
            return ""
        error_id = detail.split(b"ID ")[-1].split(b'"')[0].decode()
        text = Path(self.log_file).read_text(errors="replace")
        at = text.rfind(error_id)
        return text[max(0, at - 4000):at + 500] if at >= 0 else text[-3000:]

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def wait_for(self, dag_id: str, done: Any, timeout_s: float = 600) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = self.runs(dag_id)
            if done(runs):
                return runs
            time.sleep(3)
        raise AssertionError(f"{dag_id}: not done after {timeout_s} s: "
                             f"{[(r['dag_run_id'], r['state']) for r in self.runs(dag_id)]}")

    def wait_until_no_run_is_due(self, dag_id: str, timeout_s: float = 300) -> None:
        """Until the scheduler has created every run due by now (the DAG's next run lies in the
        future) and each has finished: nothing of that DAG runs behind the test's back."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dag = self.get(f"/api/v2/dags/{dag_id}")
            due = dag.get("next_dagrun_run_after")
            runs = self.runs(dag_id)
            if (due and _epoch(due) > time.time()
                    and all(r["state"] in ("success", "failed") for r in runs)):
                return
            time.sleep(3)
        runs = self.runs(dag_id)
        tasks = {r["dag_run_id"]: [(t["task_id"], t["state"], t["try_number"]) for t in self.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{r['dag_run_id']}/taskInstances")["task_instances"]]
            for r in runs}
        raise AssertionError(f"{dag_id}: a run still due or running after {timeout_s} s: next "
                             f"{self.get(f'/api/v2/dags/{dag_id}').get('next_dagrun_run_after')}"
                             f", runs {[(r['dag_run_id'], r['state']) for r in runs]}, "
                             f"tasks {tasks}")

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")

    def log(self, dag_id: str, run_id: str, task_id: str, attempt: int = 1) -> str:
        """The attempt's log as text (the API answers structured events as JSON)."""
        reply = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                         f"/logs/{attempt}")
        content = reply.get("content", reply) if isinstance(reply, dict) else reply
        return "\n".join(line if isinstance(line, str) else json.dumps(line)
                         for line in content)


def by_night(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {(r["logical_date"] or "")[:10]: r for r in runs}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    base = tmp_path_factory.mktemp("service")
    rows = fashion_rows()
    common = rows["category"].value_counts().index[:6]  # one taxonomy for every night
    rows = rows[rows["category"].isin(common)].sample(frac=1.0, random_state=3)
    nights = (*BACKFILL, TODAY)
    for i, night in enumerate(nights):
        # today's night, which the scheduler runs at install beside the weekly retrain's run,
        # brings no labels: whichever of the two goes first, the retrain meets none and skips
        write_fashion_dump(base / "landing" / night, rows.iloc[i * PER_NIGHT:(i + 1) * PER_NIGHT],
                           labelled=night != TODAY)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CATALOG_ML_", "AIRFLOW"))}
    env.update(CATALOG_ML_LAKE=str(base / "lake"),
               CATALOG_ML_DUMP_TEMPLATE=str(base / "landing" / "{date}"),
               CATALOG_ML_CV_FOLDS="2", CATALOG_ML_SPARK_DRIVER_MEMORY="2g",
               CATALOG_ML_DUMP_SETTLE_S="5")
    home = base / "stack"
    args = ["--home", str(home), "--port", str(free_port()), "--spark-port", str(free_port())]
    started = subprocess.run([CLI, "stack", "up", *args], env=env, capture_output=True,
                             text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        out = started.stdout
        url = next(w for w in out.split() if w.startswith("http://127.0.0.1:"))
        password = out.split("password ")[1].split()[0]
        api = Api(url, "admin", password, home / "logs" / "api-server.log")
        yield {"api": api, "base": base, "home": home,
               "lake": Lake(str(base / "lake")), "stdout": out, "env": env, "args": args}
    finally:
        stopped = subprocess.run([CLI, "stack", "down", *args], env=env, capture_output=True,
                                 text=True, timeout=120)
        print(stopped.stdout, stopped.stderr)
        assert "worker" in stopped.stdout
        assert not (home / "run" / "worker.sock").exists()  # the worker removed its socket


def test_the_stack_prints_how_to_log_in_and_listens_on_loopback_only(service):
    assert "Airflow UI" in service["stdout"] and "password" in service["stdout"]
    pids = {p.stem: int(p.read_text()) for p in (service["home"] / "pids").glob("*.pid")}
    assert set(pids) == {"spark-connect", "worker", "api-server", "scheduler",
                         "dag-processor", "triggerer"}
    socket_path = str(service["home"] / "run" / "worker.sock")
    assert f"worker       {socket_path}" in service["stdout"]
    answer = worker.ping(socket_path, timeout_s=30)
    assert answer is not None and answer["pid"] == pids["worker"]
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    for line in listening.splitlines():
        if any(f"pid={pid}," in line for pid in pids.values()):
            assert "127.0.0.1" in line.split()[3], line


def test_dags_are_unpaused_and_a_scheduled_and_a_backfilled_night_share_the_lake(service):
    api = service["api"]
    dags: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dags = {d["dag_id"]: d for d in api.get("/api/v2/dags")["dags"]}
        if {"catalog_nightly", "catalog_retrain", "catalog_reclassify"} <= set(dags):
            break
        time.sleep(2)
    assert not any(d["is_paused"] for d in dags.values()), dags
    # the weekly retrain's run of the last interval, if the scheduler creates one at install,
    # must meet a lake without labels (and skip), not the backfilled nights' labels
    api.wait_until_no_run_is_due("catalog_retrain")
    backfill = api.post("/api/v2/backfills", {
        "dag_id": "catalog_nightly", "from_date": f"{BACKFILL[0]}T00:00:00Z",
        "to_date": f"{BACKFILL[-1]}T00:00:00Z", "reprocess_behavior": "none",
        "max_active_runs": 3})
    assert backfill["dag_id"] == "catalog_nightly"
    runs = api.wait_for("catalog_nightly", lambda rs: {*BACKFILL, TODAY} <= set(by_night(rs))
                        and all(by_night(rs)[n]["state"] in ("success", "failed")
                                for n in (*BACKFILL, TODAY)))
    nights = by_night(runs)
    assert {n: nights[n]["state"] for n in (*BACKFILL, TODAY)} == dict.fromkeys(
        (*BACKFILL, TODAY), "success")
    assert nights[TODAY]["run_type"] == "scheduled"
    assert {nights[n]["run_type"] for n in BACKFILL} == {"backfill"}
    lake = service["lake"]
    for night in (*BACKFILL, TODAY):
        got = run_query(lake, f"SELECT count(*) n FROM product_snapshots "
                              f"WHERE dump_date = DATE '{night}'").to_pylist()[0]["n"]
        quarantined = run_query(lake, f"SELECT count(*) n FROM quarantine "
                                      f"WHERE dump_date = DATE '{night}'").to_pylist()[0]["n"]
        assert got + quarantined == PER_NIGHT
    doubled = run_query(lake, "SELECT product_id, content_hash, encoder_version, count(*) n "
                              "FROM embeddings GROUP BY ALL HAVING n > 1")
    assert doubled.num_rows == 0
    ran = (service["home"] / "logs" / "worker.log").read_text()
    for night in (*BACKFILL, TODAY):  # every step of every night ran warm, in the worker
        for step in ("validate", "ingest", "embed", "classify", "report"):
            assert f"worker: catalog-ml nightly --step {step} --date {night}" in ran
    assert "running here" not in api.log("catalog_nightly", nights[TODAY]["dag_run_id"],
                                         "classify")
    validated = [json.loads(line) for line in api.log(
        "catalog_nightly", nights[TODAY]["dag_run_id"], "validate").splitlines()
        if line.startswith("{") and "accepted, " in line]
    assert validated and all(event["level"] == "info" for event in validated), validated


def test_a_rerun_with_reprocess_completed_changes_no_table(service):
    api, lake = service["api"], service["lake"]

    def snapshot() -> dict[str, Any]:
        out = {name: lake.read(name).num_rows for name in ALL_TABLES}
        keys = run_query(lake, "SELECT dump_date, product_id, content_hash, category "
                               "FROM product_snapshots").to_pylist()
        out["keys"] = sorted(tuple(r.values()) for r in keys)
        return out

    before = snapshot()
    deadline = time.monotonic() + 120  # the scheduler closes a backfill after its last run
    while any(b.get("completed_at") is None for b in
              api.get("/api/v2/backfills?dag_id=catalog_nightly")["backfills"]):
        assert time.monotonic() < deadline, "the first backfill never completed"
        time.sleep(2)
    started = time.time()
    api.post("/api/v2/backfills", {
        "dag_id": "catalog_nightly", "from_date": f"{BACKFILL[0]}T00:00:00Z",
        "to_date": f"{BACKFILL[-1]}T00:00:00Z", "reprocess_behavior": "completed"})

    def rerun_done(runs: list[dict[str, Any]]) -> bool:
        nights = by_night(runs)
        return all(nights[n]["state"] == "success" and nights[n].get("end_date")
                   and _epoch(nights[n]["end_date"]) > started for n in BACKFILL)

    api.wait_for("catalog_nightly", rerun_done)
    assert snapshot() == before
    duplicates = run_query(lake, "SELECT run_date, product_id, count(*) n FROM classifications "
                                 "GROUP BY ALL HAVING n > 1")
    assert duplicates.num_rows == 0


def _epoch(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_retrain_with_params_promotes_and_the_scheduler_starts_reclassify(service):
    api, lake = service["api"], service["lake"]
    run = api.post("/api/v2/dags/catalog_retrain/dagRuns",
                   {"dag_run_id": f"manual-retrain-{int(time.time())}", "logical_date": None,
                    "conf": {"epochs": 5, "promote": True}})
    retrain = api.wait_for("catalog_retrain", lambda rs: any(
        r["dag_run_id"] == run["dag_run_id"] and r["state"] in ("success", "failed")
        for r in rs), timeout_s=900)
    mine = next(r for r in retrain if r["dag_run_id"] == run["dag_run_id"])
    assert mine["state"] == "success"
    scheduled = [r for r in retrain if r["run_type"] == "scheduled"]
    for earlier in scheduled:  # created at install, on an empty lake: skipped, not red
        assert earlier["state"] == "success"
        assert api.task("catalog_retrain", earlier["dag_run_id"], "train")["state"] == "skipped"
    assert api.task("catalog_retrain", mine["dag_run_id"], "promote")["state"] == "success"
    reclassify = api.wait_for("catalog_reclassify", lambda rs: rs and all(
        r["state"] in ("success", "failed") for r in rs), timeout_s=600)
    assert [r["state"] for r in reclassify] == ["success"]
    assert reclassify[0]["run_type"] == "asset_triggered"
    champion = lake.read("models").to_pylist()
    assert [m["status"] for m in champion] == ["champion"]
    latest = max((*BACKFILL, TODAY))
    classified = run_query(lake, f"SELECT count(*) n, min(model_version) v FROM "
                                 f"classifications WHERE run_date = DATE '{latest}'"
                           ).to_pylist()[0]
    assert classified["n"] > 0 and classified["v"] == champion[0]["version"]
    quality = run_query(lake, f"SELECT model_versions FROM report_quality "
                              f"WHERE run_date = DATE '{latest}'").to_pylist()[0]
    assert quality["model_versions"] == [champion[0]["version"]]  # the report was refreshed


def test_a_missing_dump_and_a_gate_failure_fail_at_once_with_their_reason(service):
    api, base = service["api"], service["base"]
    bad = base / "bad-dump"
    bad.mkdir()
    (bad / "products.csv").write_text("product_id,name\np1,Lamp\n")
    (bad / "_SUCCESS").touch()
    missing = api.post("/api/v2/dags/catalog_nightly/dagRuns",
                       {"dag_run_id": "manual-missing-dump",
                        "logical_date": "2026-10-01T00:00:00Z"})
    gate = api.post("/api/v2/dags/catalog_nightly/dagRuns",
                    {"dag_run_id": "manual-gate-failure", "logical_date": "2026-10-02T00:00:00Z",
                     "conf": {"dump_dir": str(bad)}})
    wanted = {missing["dag_run_id"], gate["dag_run_id"]}
    api.wait_for("catalog_nightly", lambda rs: all(
        r["state"] in ("success", "failed") for r in rs if r["dag_run_id"] in wanted)
        and wanted <= {r["dag_run_id"] for r in rs})
    for run_id, task_id, message in (
            (missing["dag_run_id"], "wait_for_dump", "was not complete by 2026-10-01T06:00"),
            (gate["dag_run_id"], "validate", "required column(s) ['title'] missing")):
        task = api.task("catalog_nightly", run_id, task_id)
        assert task["state"] == "failed" and task["try_number"] == 1, task
        assert message in api.log("catalog_nightly", run_id, task_id, 1)


def test_interrupt_jobs_stops_this_process_s_operation_on_the_shared_connect_session(service):
    """What the worker calls when its client goes away mid-action: its own tagged operation
    stops; another client's on the same server session runs on. Each client is a process of
    its own (this one holds a local Spark session, and a process has one kind)."""
    port = service["args"][service["args"].index("--spark-port") + 1]
    argv = [sys.executable, "-c", CONNECT_CLIENT, f"sc://127.0.0.1:{port}",
            str(service["base"] / "lake")]
    other = subprocess.Popen([*argv, "20", "no"], stdout=subprocess.PIPE, text=True)
    time.sleep(5)  # the other client's operation is running when this one is interrupted
    stopped = subprocess.run([*argv, "3600", "yes"], capture_output=True, text=True,
                             timeout=300)
    assert "stopped:" in stopped.stdout, stopped.stdout + stopped.stderr[-3000:]
    assert "after: 3" in stopped.stdout
    out, _ = other.communicate(timeout=300)
    assert "ran to the end" in out and "after: 3" in out, out


CONNECT_CLIENT = """
import sys, threading, time
from pyspark.sql.functions import udf
from catalog_ml.config import load_settings
from catalog_ml.lake.spark import get_spark, interrupt_jobs

spark = get_spark(load_settings(spark_master=sys.argv[1], lake=sys.argv[2]))
seconds = int(sys.argv[3])

@udf("long")
def slow(x):
    time.sleep(seconds)
    return x

stop = threading.Event()

def interrupt_until_stopped():
    while not stop.wait(2):
        interrupt_jobs()

if sys.argv[4] == "yes":
    threading.Thread(target=interrupt_until_stopped, daemon=True).start()
try:
    spark.range(2).select(slow("id")).collect()
    print("ran to the end", flush=True)
except Exception as exc:
    print("stopped:", type(exc).__name__, str(exc)[:300], flush=True)
stop.set()
print("after:", spark.range(3).count(), flush=True)
"""
