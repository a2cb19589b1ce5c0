"""catalog_ml.pipeline.worker, for real: a ``catalog-ml worker`` process, and ``catalog-ml``
commands that a shell runs with ``worker_socket`` set. A night run in the worker gives the
tables the Spark night gives, with the client's output, folder and exit codes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalog_ml.airflow.constants import NIGHT_STEPS
from catalog_ml.airflow.tasks import nightly_task
from tests.integration.conftest import N_NIGHT, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CLI = str(Path(sys.executable).with_name("catalog-ml"))
NEXT = NIGHT + dt.timedelta(days=1)


def _environment(settings, socket_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=settings.lake, CATALOG_ML_SPARK_MASTER=settings.spark_master,
               CATALOG_ML_TRAIN_EPOCHS=str(settings.train_epochs),
               CATALOG_ML_CV_FOLDS=str(settings.cv_folds),
               CATALOG_ML_WORKER_SOCKET=str(socket_path))
    return env


def _ready(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "ready on" in line:
            return "".join(lines)
    raise AssertionError(f"the worker exited ({process.wait()}) before it was ready:\n"
                         + "".join(lines))


def test_nights_run_in_the_worker_as_they_would_here(trained_lake, classified_lake, tmp_path,
                                                     monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    world = trained_lake.copy(tmp_path)
    socket_path = tmp_path / "run" / "worker.sock"
    env = _environment(world.settings, socket_path)
    log = tmp_path / "worker.log"
    with open(log, "w") as errors:
        process = subprocess.Popen([CLI, "worker"], env=env, stdout=subprocess.PIPE,
                                   stderr=errors, text=True)
    try:
        assert "encoders all-MiniLM" in _ready(process)

        def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([CLI, *args], env={**env, **extra}, cwd=world.base,
                                  capture_output=True, text=True, timeout=600)

        # the Airflow tasks' way: one step per call, each run by the worker, its XCom back
        for name, value in env.items():
            if name.startswith("CATALOG_ML_"):
                monkeypatch.setenv(name, value)
        context = {"logical_date": dt.datetime.combine(NIGHT, dt.time(), dt.UTC),
                   "params": {"dump_dir": world.dump("tonight")}}
        xcoms = {step: nightly_task(step, context) for step in NIGHT_STEPS}
        assert all(xcom["night"] == NIGHT.isoformat() for xcom in xcoms.values())
        assert xcoms["classify"]["classified"] == N_NIGHT
        assert xcoms["embed"]["embedded"] == classified_lake.outcome["embed"].embedded
        assert f"catalog-ml nightly --step embed --date {NIGHT}" in log.read_text()
        with pytest.raises(AirflowFailException, match=r"stopped at validate.*does not exist"):
            nightly_task("validate", {**context, "params": {"dump_dir": str(tmp_path / "no")}})

        # the command line's way, the next night: a relative dump path means the client's
        # folder, as it would here
        night = cli("nightly", "--dump", "tonight", "--date", str(NEXT))
        assert night.returncode == 0, night.stderr
        assert "running here" not in night.stderr
        assert f"[{NEXT}] embed: " in night.stdout and f"[{NEXT}] summary: " in night.stdout
        assert f"catalog-ml nightly --dump tonight --date {NEXT}" in log.read_text()

        # a user's mistake through the worker: its message and exit code, no traceback
        missing = cli("nightly", "--dump", "nowhere", "--date", "2026-11-09")
        assert missing.returncode == 2
        assert "dump folder" in missing.stderr and "does not exist" in missing.stderr
        assert "Traceback" not in missing.stderr

        # options count as they would here: the worker reports on the lake given by --lake
        other = cli("report", "--date", str(NIGHT), "--lake", classified_lake.settings.lake)
        assert other.returncode == 0 and "running here" not in other.stderr, other.stderr
        assert f"{classified_lake.settings.lake}/reports/{NIGHT}" in other.stdout
        # a setting the worker was not started with: that command runs in the client's process
        elsewhere = cli("report", "--date", str(NIGHT), CATALOG_ML_TOP_K="5")
        assert elsewhere.returncode == 0, elsewhere.stderr
        assert "the worker runs with other settings: top_k; running here" in elsewhere.stderr
        assert process.poll() is None  # the worker lives on after each of them

        # Ctrl-C in the client stops the night in the worker, which then serves the next one
        later = str(NEXT + dt.timedelta(days=1))
        began = f"catalog-ml nightly --dump tonight --date {later}"
        client = subprocess.Popen([CLI, "nightly", "--dump", "tonight", "--date", later],
                                  env=env, cwd=world.base, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while began not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        client.send_signal(signal.SIGINT)
        _, stopped = client.communicate(timeout=60)
        assert client.returncode == 130, stopped
        assert "interrupted: the worker on" in stopped and "Traceback" not in stopped
        deadline = time.monotonic() + 60
        while "went away" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"the client of `{began}` went away" in log.read_text()
        assert process.poll() is None
        again = cli("nightly", "--dump", "tonight", "--date", later)
        assert again.returncode == 0, again.stderr
        assert f"[{later}] summary: " in again.stdout
        assert (world.lake.read("classifications", where={"run_date": dt.date.fromisoformat(
            later)}).num_rows == world.lake.read("classifications",
                                                 where={"run_date": NEXT}).num_rows > 0)

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert not socket_path.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)

    def tonight(lake, table: str) -> pd.DataFrame:
        return (lake.read(table, where={"run_date": NIGHT}).to_pandas()
                .sort_values("product_id").reset_index(drop=True))

    spark_rows, worker_rows = (tonight(w.lake, "classifications")
                               for w in (classified_lake, world))
    assert len(worker_rows) == N_NIGHT
    assert worker_rows["product_id"].tolist() == spark_rows["product_id"].tolist()
    assert worker_rows["category"].tolist() == spark_rows["category"].tolist()
    assert worker_rows["needs_review"].tolist() == spark_rows["needs_review"].tolist()
    np.testing.assert_allclose(worker_rows["confidence"], spark_rows["confidence"], atol=1e-4)
    assert (world.lake.read("quarantine", where={"dump_date": NIGHT}).num_rows
            == classified_lake.lake.read("quarantine", where={"dump_date": NIGHT}).num_rows > 0)
