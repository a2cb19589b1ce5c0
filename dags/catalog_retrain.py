"""
### catalog_retrain: train, evaluate, register and (maybe) promote a model

Triggered by hand (Trigger DAG w/ config) or weekly:

1. **train**: every labelled product of the label snapshot (`labels_version`: a version of
   the `labels` Delta table; empty = the latest) trains the ensemble (fusion net + TF-IDF +
   linear heads). Evaluation: stratified k-fold cross-validation and a held-out split
   (accuracy and macro-F1 per level, per-class precision / recall, calibration, coverage at
   the target precision, confusion matrix): `evaluation.html` beside the artifact. The version
   is registered as a challenger and compared with the champion on the same held-out products
   (`model_comparisons`).
2. **promote**: with `promote` on, the challenger becomes champion only if it beat the
   champion by `promotion_margin`; otherwise this task is skipped. A promotion updates the
   Asset `catalog-ml://models/champion`, which starts **catalog_reclassify**.

A scheduled run whose labels have not changed since the champion's training is skipped, with
that reason in the log (a manual run always trains). Installed unpaused, so the weekly run
and the UI's trigger form work without unpausing by hand.
All logic lives in `catalog_ml.pipeline.train`; this file only wires it.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, Param, dag, task

from catalog_ml.airflow.constants import CHAMPION_ASSET_URI, dag_arguments


@dag(
    dag_id="catalog_retrain",
    schedule="@weekly",
    doc_md=__doc__,
    **dag_arguments(tags=["training"], retries=1, retry_delay=dt.timedelta(minutes=10)),
    params={
        "labels_version": Param(None, type=["null", "integer"], minimum=0,
                                description="Version of the labels table to train on "
                                            "(empty: the latest)"),
        "epochs": Param(None, type=["null", "integer"], minimum=1,
                        description="Fusion-net epochs (empty: setting train_epochs)"),
        "promote": Param(True, type="boolean",
                         description="Promote the new model if it beats the champion"),
    },
)
def catalog_retrain() -> None:
    @task
    def train(**context: object) -> dict:
        from catalog_ml.airflow.tasks import retrain_task

        return retrain_task(context)

    @task(outlets=[Asset(CHAMPION_ASSET_URI)])
    def promote(trained: dict, **context: object) -> dict:
        from catalog_ml.airflow.tasks import promote_task

        return promote_task(trained, context)

    promote(train())


catalog_retrain()
