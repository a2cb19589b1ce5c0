"""catalog_ml.pipeline.worker: the socket that carries a command to the resident worker and its
exit code back. The transport is exercised here with a real Unix socket and a worker loop in
a thread; tests/integration/pipeline/test_worker.py runs real nights through a real worker."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from catalog_ml.config import Settings, load_settings
from catalog_ml.errors import EXIT_ENVIRONMENT, ConfigError, DataError
from catalog_ml.pipeline import worker


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return load_settings(lake=str(tmp_path / "lake"),
                         storage_options={"aws_secret_access_key": "s3cr3t-value"})


def _serving(path: str, settings: Settings, run: Callable[[list[str]], int],
             on_cancel: Callable[[], None] | None = None) -> Iterator[threading.Thread]:
    listener = worker.listen(path)

    def loop() -> None:
        with contextlib.suppress(worker.WorkerStopping):
            worker.serve(listener, lambda argv: (argv[0], settings), run, {"pid": os.getpid()},
                         on_cancel)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield thread
    if thread.is_alive():  # a last request that stops it
        worker.forward(path, ["report", "--date", "stop"], settings)
    thread.join(10)


def _run(argv: list[str]) -> int:
    """What the worker runs: writes to the client's streams, stops on ``--date stop``."""
    if "stop" in argv:
        raise worker.WorkerStopping
    print(f"ran {' '.join(argv)} in {os.getcwd()}")
    print("a warning on stderr", file=sys.stderr)
    return 3


def test_fingerprints_name_what_differs_and_hold_no_value(settings):
    theirs = worker.fingerprint(settings.replace(top_k=5, warm_encoders=False,
                                                 worker_socket="/elsewhere"))
    ours = worker.fingerprint(settings)
    assert worker.differences(ours, theirs) == ["top_k"]  # how a process runs is not compared
    assert "s3cr3t-value" not in repr(ours)
    assert worker.differences(ours, worker.fingerprint(settings)) == []


def test_a_command_runs_in_the_worker_with_the_clients_streams_folder_and_exit_code(
        tmp_path, settings, capfd, caplog):
    path = str(tmp_path / "run" / "worker.sock")
    serving = _serving(path, settings, _run)
    next(serving)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == 0o700
    assert worker.ping(path)["ready"] is True
    elsewhere = tmp_path / "client folder"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    assert worker.forward(path, ["nightly", "--date", "2026-11-02"], settings) == 3
    out, err = capfd.readouterr()
    assert out == f"ran nightly --date 2026-11-02 in {elsewhere}\n"
    assert "a warning on stderr" in err
    # another configuration is not run there: the client is told which settings differ
    assert worker.forward(path, ["report", "--date", "2026-11-02"],
                          settings.replace(lake=str(tmp_path / "other"))) is None
    assert "other settings: lake; running here" in caplog.text
    # nor a command the worker does not hold warm
    assert worker.forward(path, ["vacuum"], settings) is None
    assert "it runs only nightly, report" in caplog.text
    with pytest.raises(StopIteration):
        next(serving)


def test_a_second_worker_on_a_live_socket_is_refused_and_a_stale_one_replaced(
        tmp_path, settings):
    path = str(tmp_path / "worker.sock")
    serving = _serving(path, settings, _run)
    next(serving)
    with pytest.raises(ConfigError, match="another worker is listening there"):
        worker.listen(path)
    with pytest.raises(StopIteration):
        next(serving)
    assert not os.path.exists(path)  # a stopped worker removes its socket

    stale = worker.listen(path)
    stale.close()  # the file stays, as after kill -9
    assert os.path.exists(path) and worker.ping(path) is None
    worker.close(worker.listen(path))
    (tmp_path / "not-a-socket").write_text("x")
    with pytest.raises(ConfigError, match="is not a socket"):
        worker.listen(str(tmp_path / "not-a-socket"))


def test_no_worker_means_the_command_runs_here_and_a_worker_that_dies_is_an_error(
        tmp_path, settings, capfd, caplog):
    path = str(tmp_path / "worker.sock")
    assert worker.forward(path, ["nightly"], settings) is None
    assert "no worker answers" in caplog.text
    serving = _serving(path, settings, _run)
    thread = next(serving)
    # the worker stops in the middle of the command: the client must not take it for done
    assert worker.forward(path, ["report", "--date", "stop"], settings) == EXIT_ENVIRONMENT
    assert "stopped while running `report --date stop`" in capfd.readouterr().err
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(StopIteration):
        next(serving)


def _steps(argv: list[str]) -> int:
    """A worker's ``nightly --step``: the step's XCom line, or a failure as the CLI writes it."""
    if "stop" in argv:
        raise worker.WorkerStopping
    step, night = argv[argv.index("--step") + 1], argv[argv.index("--date") + 1]
    print(f"{night} INFO the step's log", file=sys.stderr)
    if "--dump" in argv:
        print("catalog-ml: night stopped: dump folder /nowhere does not exist", file=sys.stderr)
        return 2
    print(f"[{night}] {step}: " + json.dumps({"night": night, "seconds": 1.5}))
    return 0


def test_a_step_in_the_worker_returns_its_xcom_and_raises_what_the_step_raised(
        tmp_path, settings, caplog):
    caplog.set_level(logging.INFO, logger="catalog_ml.pipeline.worker")
    path = str(tmp_path / "worker.sock")
    settings = settings.replace(worker_socket=path)
    night = dt.date(2026, 11, 2)
    assert worker.step_in_worker(settings, "embed", night, None) is None  # no worker yet
    serving = _serving(path, settings, _steps)
    next(serving)
    assert worker.step_in_worker(settings, "embed", night, None) == {
        "night": "2026-11-02", "seconds": 1.5}
    # copied into the task's log at its own level (Airflow marks a task's stderr as errors)
    assert ("catalog_ml.pipeline.worker", logging.INFO, "2026-11-02 INFO the step's log"
            ) in caplog.record_tuples
    caplog.clear()
    with pytest.raises(DataError, match="in the worker: dump folder /nowhere does not exist"):
        worker.step_in_worker(settings, "validate", night, "/nowhere")
    assert ("catalog_ml.pipeline.worker", logging.ERROR,
            "catalog-ml: night stopped: dump folder /nowhere does not exist"
            ) in caplog.record_tuples
    with pytest.raises(StopIteration):
        next(serving)


def test_a_ping_gives_up_after_its_timeout_on_a_worker_that_does_not_answer(tmp_path):
    listener = worker.listen(str(tmp_path / "loading.sock"))  # listening, never serving
    try:
        started = dt.datetime.now()
        assert worker.ping(str(tmp_path / "loading.sock"), timeout_s=0.5) is None
        assert (dt.datetime.now() - started).total_seconds() < 5
        assert worker.ping(str(tmp_path / "nobody.sock"), timeout_s=0.5) is None
    finally:
        worker.close(listener)


def test_ctrl_c_in_the_client_stops_its_command_in_the_worker_which_serves_the_next(
        tmp_path, settings, capfd, caplog):
    path = str(tmp_path / "worker.sock")
    started, stopped, cancelled = threading.Event(), threading.Event(), []

    def run(argv: list[str]) -> int:
        if "stop" in argv:
            raise worker.WorkerStopping
        if "long" not in argv:
            return 0
        started.set()
        try:
            for _ in range(3000):  # 30 s, unless the client goes away
                time.sleep(0.01)
        except worker.ClientGone:
            stopped.set()
            raise
        return 0

    serving = _serving(path, settings, run, on_cancel=lambda: cancelled.append(True))
    next(serving)
    main = threading.main_thread().ident
    assert main is not None
    threading.Thread(target=lambda: started.wait(10) and signal.pthread_kill(
        main, signal.SIGINT), daemon=True).start()
    began = time.monotonic()
    assert worker.forward(path, ["nightly", "--date", "long"], settings) == 130
    assert "interrupted: the worker on" in capfd.readouterr().err
    assert stopped.wait(10) and time.monotonic() - began < 10  # not the command's 30 s
    assert worker.forward(path, ["report", "--date", "2026-11-02"], settings) == 0
    assert "the client of `catalog-ml nightly --date long` went away" in caplog.text
    assert cancelled == [True]  # the Spark clean-up ran once, for the stopped command only
    with pytest.raises(StopIteration):
        next(serving)


def _succeed(argv: list[str]) -> int:
    if "stop" in argv:
        raise worker.WorkerStopping
    return 0


def test_a_client_that_closes_after_its_answer_stops_nothing(tmp_path, settings):
    path = str(tmp_path / "worker.sock")
    serving = _serving(path, settings, _succeed)
    next(serving)
    for _ in range(20):  # each close lands while the worker answers or just after
        assert worker.forward(path, ["report", "--date", "2026-11-02"], settings) == 0
    time.sleep(0.2)
    assert worker.ping(path)["ready"] is True
    with pytest.raises(StopIteration):
        next(serving)
