"""What each step of a night (and the reclassify job) reports: small typed records.

The CLI prints them, the DAG tasks hand ``to_xcom()`` to Airflow, the demo and the tests read
their fields: one declaration of what a step says, instead of dict keys every reader guesses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class StepResult:
    night: dt.date
    seconds: float = 0.0  # set by run_step

    def to_xcom(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO text; what Airflow stores and the CLI prints."""
        return {k: v.isoformat() if isinstance(v, dt.date) else v
                for k, v in dataclasses.asdict(self).items()}


@dataclass(kw_only=True)
class Validated(StepResult):
    dump: str
    source_file: str
    rows_received: int
    accepted: int
    rejected: int
    reject_share: float
    validation_report: str


@dataclass(kw_only=True)
class Ingested(StepResult):
    products: int
    quarantined: int
    labelled: int
    new_products: int
    withdrawn_products: int


@dataclass(kw_only=True)
class Embedded(StepResult):
    encoder_version: str
    candidates: int
    embedded: int


@dataclass(kw_only=True)
class Classified(StepResult):
    classified: int
    model_version: str | None = None
    by_model: int = 0  # new or changed products the model ran on
    carried_over: int = 0  # unchanged since the last classified night: its answer kept
    skipped: str | None = None  # why nothing was classified (no champion yet)


@dataclass(kw_only=True)
class Reported(StepResult):
    report: str
    rows: dict[str, int] = field(default_factory=dict)
    category_drift: float | None = None
    price_anomalies: int = 0


@dataclass(kw_only=True)
class Reclassified(StepResult):
    classified: int
    embedded: int
    model_version: str | None = None
    report: str | None = None
    skipped: str | None = None
