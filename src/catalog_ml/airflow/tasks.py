"""What the Airflow tasks call: the night from the run's context, and one step of it.

A data problem (a gate failure, a label outside the taxonomy, a bad artifact) or a wrong
setting is not transient: it fails the task at once (AirflowFailException), with no retries,
and its message names the problem. A busy lake or a lost commit race (ConflictError) and the
machine's refusals are raised as they are, so Airflow's retries take them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from catalog_ml.config import load_settings
from catalog_ml.errors import ConfigError, DataError, LakeNotFoundError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def failing_fast(what: str) -> Iterator[None]:
    """Data and configuration problems fail the task without retries."""
    try:
        yield
    except (DataError, ConfigError) as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{what}: {exc}") from exc


def night_from_context(context: Mapping[str, Any]) -> dt.date:
    """The night a run processes: its logical date, or for runs without one, when it ran."""
    logical = context.get("logical_date")
    if logical is None:
        run = context.get("dag_run")
        logical = getattr(run, "run_after", None) if run is not None else None
    if logical is None:
        raise ValueError("the run has neither a logical date nor run_after")
    if isinstance(logical, str):
        return dt.date.fromisoformat(logical[:10])
    return logical.date() if isinstance(logical, dt.datetime) else logical


def nightly_task(step: str, context: Mapping[str, Any]) -> dict[str, Any]:
    from catalog_ml.pipeline.nightly import run_step

    params = context.get("params") or {}
    night = night_from_context(context)
    with failing_fast(f"night {night} stopped at {step}"):
        settings = load_settings()
        dump_dir = params.get("dump_dir") or None
        if settings.worker_socket:  # a resident worker runs it warm, if it takes it
            from catalog_ml.pipeline.worker import step_in_worker

            result = step_in_worker(settings, step, night, dump_dir)
            if result is not None:
                return result
        return run_step(step, settings, night, dump_dir=dump_dir).to_xcom()


def _scheduled(context: Mapping[str, Any]) -> bool:
    run = context.get("dag_run")
    run_type = getattr(run, "run_type", None)
    return str(getattr(run_type, "value", run_type)) == "scheduled"


def retrain_task(context: Mapping[str, Any]) -> dict[str, Any]:
    """Train, evaluate, register and compare; what the retrain DAG's first task returns.

    A scheduled run with no label change since the champion's training is skipped (training
    again on the same labels costs minutes and changes nothing); a manual run always trains."""
    from airflow.sdk.exceptions import AirflowSkipException

    from catalog_ml.lake import Lake
    from catalog_ml.pipeline.train import (
        NotEnoughLabelsError,
        label_changes_since_champion,
        train_challenger,
    )

    params = context.get("params") or {}
    scheduled = _scheduled(context)
    with failing_fast("retrain stopped"):
        settings = load_settings()
        lake = Lake.from_settings(settings)
        if scheduled and params.get("labels_version") is None and lake.initialised():
            changed, why = label_changes_since_champion(lake)
            if changed == 0:
                log.warning("scheduled retrain skipped: %s", why)
                raise AirflowSkipException(f"scheduled retrain skipped: {why}")
        if params.get("epochs"):
            settings = settings.replace(train_epochs=int(params["epochs"]))
        try:
            result = train_challenger(settings, labels_version=params.get("labels_version"))
        except (NotEnoughLabelsError, LakeNotFoundError) as exc:
            if not scheduled:
                raise
            log.warning("scheduled retrain skipped: %s", exc)  # a new lake: nothing to learn
            raise AirflowSkipException(f"scheduled retrain skipped: {exc}") from exc
    return {k: v for k, v in result.items() if k != "metrics"}


def promote_task(trained: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Promote when asked and better; otherwise skip, so the champion Asset is not updated."""
    from airflow.sdk.exceptions import AirflowSkipException

    from catalog_ml.pipeline.train import promote_if_better

    params = context.get("params") or {}
    if trained["status"] == "champion":  # the first model of an empty registry
        return {"version": trained["version"], "promoted": True, "reason": "first model"}
    if not params.get("promote", True):
        raise AirflowSkipException(f"{trained['version']} registered; promotion not asked for")
    with failing_fast("promotion stopped"):
        decision = promote_if_better(load_settings(), trained["version"])
    # the A/B outcome at WARNING: visible in the task log without opening a group
    log.warning("A/B %s vs the champion: %s", trained["version"], decision["reason"])
    if not decision["promoted"]:
        raise AirflowSkipException(f"{trained['version']} not promoted: {decision['reason']}")
    return decision


def reclassify_task() -> dict[str, Any]:
    from catalog_ml.pipeline.reclassify import reclassify_latest

    with failing_fast("reclassify stopped"):
        return reclassify_latest(load_settings()).to_xcom()


def maintenance_task() -> dict[str, Any]:
    """Weekly housekeeping of the lake (compact, checkpoint, vacuum) with the settings'
    ``vacuum_retention_hours``; label snapshots that models were trained on are kept."""
    from catalog_ml.lake import Lake
    from catalog_ml.lake.maintenance import maintain, summary

    with failing_fast("maintenance stopped"):
        settings = load_settings()
        lake = Lake.from_settings(settings)
        if not lake.initialised():
            return {"skipped": f"no lake at {lake.root} yet"}
        return summary(maintain(lake, settings.vacuum_retention_hours))
