"""catalog_ml.lake.lock: one writer per lake, across processes."""

import datetime as dt

import pyarrow as pa
import pytest

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import QUARANTINE

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def quarantine_rows(night: dt.date, n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"dump_date": night, "source_row": i, "product_id": f"p{i}", "reasons": ["title: x"],
          "raw_record": "{}"} for i in range(n)], schema=QUARANTINE.schema)


def _hold_lock(root: str, seconds: float):
    """A second process holding the lake's writer lock, as another night would."""
    import subprocess
    import sys
    import time

    code = ("import sys, time\nfrom catalog_ml.lake import Lake\n"
            f"with Lake({root!r}).writer('the other night'):\n"
            f"    print('held', flush=True)\n    time.sleep({seconds})\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    time.sleep(0.1)
    return holder


def test_a_second_writer_waits_then_fails_with_a_retryable_error_naming_the_holder(tmp_path):
    from catalog_ml.errors import ConflictError

    holder = _hold_lock(str(tmp_path), 30)
    try:
        with (pytest.raises(ConflictError, match=rf"pid {holder.pid} .*the other night.*"
                                                 "lake_lock_timeout_s"),
              Lake(str(tmp_path), lock_timeout_s=0.5).writer("me")):
            pass
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait()
    with Lake(str(tmp_path), lock_timeout_s=2).writer("me") as lake:
        assert lake.exists("quarantine")


def test_a_writer_waits_for_the_other_to_finish(tmp_path):
    import time

    holder = _hold_lock(str(tmp_path), 1.5)
    started = time.monotonic()
    with Lake(str(tmp_path), lock_timeout_s=30).writer("me"):
        waited = time.monotonic() - started
    holder.wait()
    assert holder.returncode == 0 and waited >= 1.0


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    lake = Lake(str(tmp_path), lock_timeout_s=0.2)
    with lake.writer("night"), lake.writer("a step of it"):
        lake.append("quarantine", quarantine_rows(D1, 1))
    assert lake.read("quarantine").num_rows == 1
