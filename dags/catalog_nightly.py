"""
### catalog_nightly: categorise tonight's product dump

Every night, for the dump folder of the run's logical date (setting `dump_template`, e.g.
`landing/{date}`):

1. **validate**: Great Expectations checks every row against the dump contract; bad rows
   are staged for quarantine with their reasons. A whole-dump problem (missing column, empty or
   unreadable file, too many bad rows) fails the run at once, without retries, and no table
   is touched.
2. **ingest**: quarantine, product snapshots, products (upsert) and labels, each one atomic
   Delta commit replacing the night's share: a rerun or backfill never duplicates.
3. **embed**: Spark computes text (MiniLM) and image (EfficientNet) vectors for products whose
   content changed.
4. **classify**: the champion model writes one row per valid product to `classifications`.

Trigger with a `dump_dir` param to process a folder other than the template's.
All logic lives in the `catalog_ml` package; this file only wires the steps.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task

DEFAULT_ARGS = {
    "owner": "catalog-ml",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
}


@dag(
    dag_id="catalog_nightly",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["catalog-ml", "nightly"],
    doc_md=__doc__,
    params={"dump_dir": Param(None, type=["null", "string"],
                              description="Dump folder to process instead of the template's")},
)
def catalog_nightly() -> None:
    @task
    def validate(**context: object) -> dict:
        from catalog_ml.orchestration import nightly_task

        return nightly_task("validate", context)

    @task
    def ingest(**context: object) -> dict:
        from catalog_ml.orchestration import nightly_task

        return nightly_task("ingest", context)

    @task
    def embed(**context: object) -> dict:
        from catalog_ml.orchestration import nightly_task

        return nightly_task("embed", context)

    @task
    def classify(**context: object) -> dict:
        from catalog_ml.orchestration import nightly_task

        return nightly_task("classify", context)

    validate() >> ingest() >> embed() >> classify()


catalog_nightly()
