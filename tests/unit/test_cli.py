"""The ``catalog-ml`` command's contract: exit codes and one-line messages, no tracebacks for
a user's mistake. Run as a real process, as a user would."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_ml.cli import guarded
from catalog_ml.errors import EXIT_BUG, EXIT_CONFIG, EXIT_DATA, EXIT_ENVIRONMENT, NightMissingError

CLI = Path(sys.executable).with_name("catalog-ml")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    environment.update(env or {})
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=environment,
                          cwd=cwd, timeout=300)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("catalog-ml")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    from catalog_ml.lake import Lake

    with Lake(str(tmp_path / "lake")).writer("test"):
        pass
    return tmp_path / "lake"


def test_usage_errors_exit_64_not_the_data_problems_2(tmp_path):
    result = run("nightly", "--dump", str(tmp_path), "--date", "2026-13-40")
    assert result.returncode == EXIT_CONFIG and "not a date" in result.stderr
    assert run("frobnicate").returncode == EXIT_CONFIG


def test_a_missing_config_file_is_a_configuration_error(tmp_path):
    result = run("--config", str(tmp_path / "nope.toml"), "models")
    assert result.returncode == EXIT_CONFIG
    assert "nope.toml does not exist" in one_line(result)


def test_a_bad_setting_stops_before_anything_is_written(tmp_path):
    (tmp_path / "dump").mkdir()
    result = run("nightly", "--dump", str(tmp_path / "dump"), "--date", "2026-11-02",
                 "--lake", str(tmp_path / "lake"), env={"CATALOG_ML_TOP_K": "0"})
    assert result.returncode == EXIT_CONFIG
    assert "setting 'top_k' must lie in [1, 100], got 0" in one_line(result)
    assert not (tmp_path / "lake").exists()
    result = run("nightly", "--dump", str(tmp_path / "dump"), "--date", "2026-11-02",
                 "--lake", str(tmp_path / "lake"),
                 env={"CATALOG_ML_SPARK_DRIVER_MEMORY": "lots"})
    assert result.returncode == EXIT_CONFIG and "spark_driver_memory" in one_line(result)
    assert not (tmp_path / "lake").exists()


def test_a_lake_that_is_a_file_or_a_typo_is_named(tmp_path, lake):
    (tmp_path / "file").write_text("x")
    result = run("nightly", "--dump", str(tmp_path), "--date", "2026-11-02",
                 "--lake", str(tmp_path / "file"))
    assert result.returncode == EXIT_CONFIG and "is a file, not a folder" in one_line(result)
    result = run("query", "SELECT count(*) FROM classifications", "--lake",
                 str(tmp_path / "lkae"))
    assert result.returncode == EXIT_CONFIG
    assert f"no catalog-ml lake at {tmp_path / 'lkae'}" in one_line(result)
    assert not (tmp_path / "lkae").exists()


def test_commands_for_a_night_that_never_ran_exit_2(lake):
    for args in (("report", "--date", "2026-01-01"),
                 ("review", "export", "--date", "2026-01-01")):
        result = run(*args, "--lake", str(lake))
        assert result.returncode == EXIT_DATA, result.stderr
        assert "night 2026-01-01 never ran" in one_line(result)


def test_a_refused_query_and_an_unknown_version_are_usage_errors(lake):
    result = run("query", f"COPY models TO '{lake}/x.csv'", "--lake", str(lake))
    assert result.returncode == EXIT_CONFIG and "read-only" in one_line(result)
    assert not (lake / "x.csv").exists()
    result = run("promote", "v-nope", "--lake", str(lake))
    assert result.returncode == EXIT_CONFIG and "no model version 'v-nope'" in one_line(result)


def test_a_gate_failure_stops_the_night_with_exit_2(tmp_path):
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "products.csv").write_text("product_id,name\np1,Lamp\n")
    result = run("nightly", "--dump", str(tmp_path / "dump"), "--date", "2026-11-02",
                 "--lake", str(tmp_path / "lake"))
    assert result.returncode == EXIT_DATA
    assert "night stopped" in one_line(result) and "'title'" in result.stderr


def test_vacuum_runs_on_a_lake(lake):
    result = run("vacuum", "--lake", str(lake), "--retention-hours", "0")
    assert result.returncode == 0, result.stderr
    assert "deleted 0 files" in result.stdout


def test_the_machine_refusing_is_exit_74_and_a_bug_is_a_traceback(capsys):
    def full() -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "/lake/x.parquet")

    assert guarded(full) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert "environment:" in err and "/lake/x.parquet: No space left on device" in err
    assert "Traceback" not in err

    def bug() -> int:
        return {}["missing"]

    assert guarded(bug) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "this is a bug in catalog-ml (KeyError)" in err

    def data() -> int:
        raise NightMissingError("night 2026-01-01 never ran\non two lines")

    assert guarded(data) == EXIT_DATA
    assert capsys.readouterr().err.count("\n") == 1


def test_a_spark_jvm_that_does_not_start_is_an_environment_fault():
    from pyspark.errors import PySparkRuntimeError

    from catalog_ml.errors import EnvironmentFault, translate

    gateway = PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={})
    assert isinstance(translate(gateway), EnvironmentFault)


def test_a_command_that_read_the_lake_exits_with_its_own_code_every_time(tmp_path):
    """Reading a table through delta-rs' own file handler aborted the interpreter at exit
    (134, "terminate called without an active exception") in most runs; the lake now reads
    through pyarrow's filesystem. Five runs, each must end with the 64 of its refusal."""
    import datetime as dt

    import pyarrow as pa

    from catalog_ml.lake import Lake
    from catalog_ml.lake.tables import LABELS

    lake = Lake(str(tmp_path / "lake"))
    with lake.writer("setup"):
        lake.append("labels", pa.Table.from_pylist(
            [{"product_id": "p1", "category": "Bags > Totes", "source": "dump",
              "dump_date": dt.date(2026, 11, 1)}], schema=LABELS.schema))
    for _ in range(5):
        result = run("rules", "add", "--pattern", "tote", "--category", "Bags > Tote",
                     "--lake", lake.root)
        assert result.returncode == EXIT_CONFIG, (result.returncode, result.stderr[-500:])
        assert "nearest: 'Bags > Totes'" in one_line(result)


def test_a_worker_needs_a_socket_and_refuses_a_path_it_cannot_use(tmp_path):
    result = run("worker")
    assert result.returncode == EXIT_CONFIG
    assert "give --socket PATH or set worker_socket" in one_line(result)
    (tmp_path / "plain").write_text("not a socket")
    result = run("worker", "--socket", str(tmp_path / "plain"))
    assert result.returncode == EXIT_CONFIG
    assert "exists and is not a socket" in one_line(result)


@pytest.mark.parametrize(("option", "setting"), [("--epochs", "train_epochs"),
                                                 ("--folds", "cv_folds")])
def test_a_zero_train_option_is_refused_not_read_as_the_default(lake, option, setting):
    result = run("train", option, "0", "--lake", str(lake))
    assert result.returncode == EXIT_CONFIG
    assert f"setting '{setting}' must lie in" in one_line(result)


@pytest.mark.parametrize(("args", "says"), [
    (("serve", "--port", "99999"), "not a TCP port (1 to 65535): '99999'"),
    (("demo", "--rows", "-5"), "at least 90, got -5"),
])
def test_out_of_range_numbers_are_usage_errors(args, says):
    """serve --port 99999 used to start (uvicorn took it), demo --rows -5 wrote an empty
    sample over the last one and stopped at validation."""
    result = run(*args)
    assert result.returncode == EXIT_CONFIG and says in result.stderr


def test_an_argument_that_is_not_utf8_is_a_usage_error_not_a_traceback(lake):
    """rules add --author with a Latin-1 byte died encoding it into the rules table."""
    author = os.fsdecode(b"an\xe9")
    result = subprocess.run(
        [str(CLI), "rules", "add", "--lake", str(lake), "--field", "title", "--pattern",
         "mug", "--category", "A > B", "--author", author], capture_output=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")},
        timeout=300)
    assert result.returncode == EXIT_CONFIG
    assert b"argument 12 ('an\\udce9') is not UTF-8 text (byte 0xe9" in result.stderr
    assert b"Traceback" not in result.stderr
