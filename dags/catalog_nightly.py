"""
### catalog_nightly: categorise tonight's product dump

Every night, for the dump folder of the run's logical date (setting `dump_template`, e.g.
`landing/{date}`):

0. **wait_for_dump**: deferred (in the triggerer, holding no worker) until the folder is
   complete: its `_SUCCESS` marker (setting `dump_marker`) is there, or nothing in it changed
   for `dump_settle_s`. A dump that landed on time costs no waiting. Past the night plus
   `dump_deadline_hours` (6) the run fails at once, naming the folder and the deadline.
1. **validate**: Great Expectations checks every row against the dump contract; bad rows
   are staged for quarantine with their reasons. A whole-dump problem (missing column, empty or
   unreadable file, too many bad rows) fails the run at once, without retries, and no table
   is touched.
2. **ingest**: quarantine, product snapshots, products (upsert) and labels, each one atomic
   Delta commit replacing the night's share: a rerun or backfill never duplicates.
3. **embed**: Spark computes text (MiniLM) and image (EfficientNet) vectors for products whose
   content changed.
4. **classify**: the champion model writes one row per valid product to `classifications`.
5. **report**: `report_inventory`, `report_pricing`, `price_anomalies`, `report_quality` and
   `category_changes` for the night, and an offline HTML report at
   `<lake>/reports/<date>/report.html` (its path is the task's return value).

Trigger with a `dump_dir` param to process a folder other than the template's.
Installed unpaused (`is_paused_upon_creation=False`), no catch-up: each night from the day it
is installed waits for its dump; older nights come through a backfill. Every step that writes
the lake holds its writer lock, so scheduled, manual and backfill runs never write at once.
All logic lives in the `catalog_ml` package; this file only wires the steps.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task

from catalog_ml.airflow.constants import NIGHT_STEPS, dag_arguments
from catalog_ml.airflow.dump_sensor import WaitForDump


@dag(
    dag_id="catalog_nightly",
    schedule="@daily",
    doc_md=__doc__,
    params={"dump_dir": Param(None, type=["null", "string"],
                              description="Dump folder to process instead of the template's")},
    **dag_arguments(tags=["nightly"], retries=2, retry_delay=dt.timedelta(minutes=5)),
)
def catalog_nightly() -> None:
    previous = WaitForDump(task_id="wait_for_dump", retries=0)
    for step in NIGHT_STEPS:
        current = _step_task(step)()
        if previous is not None:
            previous >> current
        previous = current


def _step_task(step: str):
    @task(task_id=step)
    def run(**context: object) -> dict:
        from catalog_ml.airflow.tasks import nightly_task

        return nightly_task(step, context)

    return run


catalog_nightly()
