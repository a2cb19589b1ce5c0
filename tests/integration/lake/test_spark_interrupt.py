"""catalog_ml.lake.spark.interrupt_jobs on a real local Spark: what the resident worker calls
when a command's client went away in the middle of a Spark action."""

from __future__ import annotations

import threading
import time

import pytest

from catalog_ml.lake.spark import interrupt_jobs

pytestmark = [pytest.mark.spark]


def test_a_running_job_of_this_process_is_cancelled(spark):
    tracker = spark.sparkContext.statusTracker()
    failures: list[BaseException] = []

    def hour_long_job() -> None:
        try:
            spark.range(2, numPartitions=2).rdd.map(lambda x: time.sleep(3600)).collect()
        except Exception as exc:
            failures.append(exc)

    job = threading.Thread(target=hour_long_job, daemon=True)
    job.start()
    deadline = time.monotonic() + 60
    while not tracker.getActiveJobsIds() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tracker.getActiveJobsIds(), "the job never started"
    interrupt_jobs()
    job.join(60)
    assert not job.is_alive() and failures
    assert "cancel" in str(failures[0]).lower()
    assert spark.range(3).count() == 3  # the session serves the next command
