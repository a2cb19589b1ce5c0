"""A whole night, step by step: the same functions the Airflow DAG calls one task at a time."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from catalog_ml.config import Settings
from catalog_ml.errors import ConfigError
from catalog_ml.lake import Lake
from catalog_ml.pipeline.results import StepResult

log = logging.getLogger(__name__)
STEPS = ("validate", "ingest", "embed", "classify", "report")


def _step(name: str) -> Any:
    """A step's module, imported when the step runs: an Airflow task imports only its own
    step (the embed task never pays for Great Expectations, validate never for Spark)."""
    import importlib

    return importlib.import_module(f"catalog_ml.pipeline.{name}")


def run_step(step: str, settings: Settings, night: dt.date, dump_dir: str | None = None
             ) -> StepResult:
    """One step of the night by name; the DAG's tasks and the CLI both come through here."""
    steps: dict[str, Callable[[], StepResult]] = {
        "validate": lambda: _step("validate").validate_night(settings, night, dump_dir),
        "ingest": lambda: _step("ingest").ingest_night(settings, night),
        "embed": lambda: _step("embed").embed_night(settings, night),
        "classify": lambda: _step("classify").classify_night(settings, night),
        "report": lambda: _step("publish").report_night(settings, night),
    }
    if step not in steps:
        raise ConfigError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
    started = time.monotonic()
    with Lake.from_settings(settings).writer(f"night {night}: {step}"):
        result = steps[step]()
    result.seconds = round(time.monotonic() - started, 1)
    log.info("night %s: %s done in %.1f s", night, step, result.seconds)
    return result


def run_night(settings: Settings, night: dt.date, dump_dir: str | None = None,
              on_step: Callable[[str, StepResult], None] | None = None
              ) -> dict[str, StepResult]:
    """All steps under one hold of the writer lock: a second run of any night waits. The
    encoders load in a second process meanwhile (``warm_encoders``)."""
    from catalog_ml.pipeline.warm_encoders import warm_encoders

    results: dict[str, StepResult] = {}
    with Lake.from_settings(settings).writer(f"night {night}"), warm_encoders(settings):
        for step in STEPS:
            results[step] = run_step(step, settings, night, dump_dir)
            if on_step:
                on_step(step, results[step])
    return results
