"""What the Airflow tasks call: the night from the run's context, and one step of it.

A gate failure is a data problem, not a transient one: it fails the task at once
(AirflowFailException), with no retries, and its message names the problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from catalog_ml.config import load_settings
from catalog_ml.dump import DumpError


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
    settings = load_settings()
    night = night_from_context(context)
    try:
        return run_step(step, settings, night, dump_dir=params.get("dump_dir") or None)
    except DumpError as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"night {night} stopped at {step}: {exc}") from exc
