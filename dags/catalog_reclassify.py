"""
### catalog_reclassify: the current catalog, classified again by a new champion

Runs whenever **catalog_retrain** promotes a model (the Asset
`catalog-ml://models/champion`), or by hand after `catalog-ml promote` / `rollback`.
It embeds what the champion's encoders have not seen yet and replaces the classifications of
the latest night in the lake, so the morning's tables already carry the new model's answers.

All logic lives in `catalog_ml.pipeline.reclassify`; this file only wires it.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, dag, task

CHAMPION_ASSET = Asset("catalog-ml://models/champion")
DEFAULT_ARGS = {"owner": "catalog-ml", "retries": 2, "retry_delay": dt.timedelta(minutes=5)}


@dag(
    dag_id="catalog_reclassify",
    schedule=[CHAMPION_ASSET],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    is_paused_upon_creation=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["catalog-ml", "training"],
    doc_md=__doc__,
)
def catalog_reclassify() -> None:
    @task
    def reclassify() -> dict:
        from catalog_ml.orchestration import reclassify_task

        return reclassify_task()

    reclassify()


catalog_reclassify()
