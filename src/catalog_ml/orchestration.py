"""What the Airflow tasks call: the night from the run's context, and one step of it.

A data problem (a gate failure, a label outside the taxonomy, a bad artifact) or a wrong
setting is not transient: it fails the task at once (AirflowFailException), with no retries,
and its message names the problem. A busy lake or a lost commit race (ConflictError) and the
machine's refusals are raised as they are, so Airflow's retries take them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from catalog_ml.config import load_settings
from catalog_ml.errors import ConfigError, DataError


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
        return run_step(step, settings, night, dump_dir=params.get("dump_dir") or None)


def retrain_task(context: Mapping[str, Any]) -> dict[str, Any]:
    """Train, evaluate, register and compare; what the retrain DAG's first task returns."""
    from catalog_ml.pipeline.train import train_challenger

    params = context.get("params") or {}
    with failing_fast("retrain stopped"):
        settings = load_settings()
        if params.get("epochs"):
            settings = settings.replace(train_epochs=int(params["epochs"]))
        result = train_challenger(settings, labels_version=params.get("labels_version"))
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
    if not decision["promoted"]:
        raise AirflowSkipException(f"{trained['version']} not promoted: {decision['reason']}")
    return decision


def reclassify_task() -> dict[str, Any]:
    from catalog_ml.pipeline.reclassify import reclassify_latest

    with failing_fast("reclassify stopped"):
        return reclassify_latest(load_settings())
