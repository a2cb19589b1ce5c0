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

from catalog_ml.airflow.constants import CHAMPION_ASSET_URI, dag_arguments


@dag(
    dag_id="catalog_reclassify",
    schedule=[Asset(CHAMPION_ASSET_URI)],
    doc_md=__doc__,
    **dag_arguments(tags=["training"], retries=2, retry_delay=dt.timedelta(minutes=5)),
)
def catalog_reclassify() -> None:
    @task
    def reclassify() -> dict:
        from catalog_ml.airflow.tasks import reclassify_task

        return reclassify_task()

    reclassify()


catalog_reclassify()
