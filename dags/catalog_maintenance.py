"""
### catalog_maintenance: the lake kept fast and small, every week

Compacts each table's small files (one file per night and table adds up), vacuums files
replaced longer ago than `vacuum_retention_hours` (default 168 h = 7 days), then writes a
Delta checkpoint per table. The label snapshots that registered models were trained on are never
vacuumed, so `catalog-ml train --labels-version N` keeps working. It takes the lake's writer
lock, so it waits for a running night instead of racing it. Trigger it by hand from the UI at
any time; `catalog-ml maintain --dry-run` shows what it would do.

All logic lives in `catalog_ml.lake.maintenance`; this file only wires it.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task

from catalog_ml.airflow.constants import dag_arguments


@dag(
    dag_id="catalog_maintenance",
    schedule="0 12 * * 0",  # Sunday noon: far from the nightly run and the dump's arrival
    doc_md=__doc__,
    **dag_arguments(tags=["maintenance"], retries=2, retry_delay=dt.timedelta(minutes=10)),
)
def catalog_maintenance() -> None:
    @task(execution_timeout=dt.timedelta(hours=4))
    def maintain() -> dict:
        from catalog_ml.airflow.tasks import maintenance_task

        return maintenance_task()

    maintain()


catalog_maintenance()
