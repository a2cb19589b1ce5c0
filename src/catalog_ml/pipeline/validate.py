"""Step 1 of a night: validate the dump and stage the result. Writes no Delta table."""

from __future__ import annotations

import datetime as dt
import logging

from catalog_ml.config import Settings
from catalog_ml.lake import Lake
from catalog_ml.pipeline.labels import known_categories
from catalog_ml.pipeline.results import Validated
from catalog_ml.pipeline.staging import stage
from catalog_ml.validation.dump import DumpError
from catalog_ml.validation.gate_page import save_gate_failure, save_report
from catalog_ml.validation.validate import validate_dump

log = logging.getLogger(__name__)


def validate_night(settings: Settings, night: dt.date, dump_dir: str | None = None
                   ) -> Validated:
    """Validate the night's dump; DumpError (with the problem named) stops the night."""
    lake = Lake.from_settings(settings)
    folder = dump_dir or settings.dump_dir(night.isoformat())
    taxonomy = known_categories(lake, except_night=night)
    try:
        outcome = validate_dump(folder, night, settings, taxonomy)
    except DumpError as exc:
        save_gate_failure(lake, night.isoformat(), str(exc))
        log.error("night %s stopped: %s", night, exc)
        raise
    report = save_report(lake, outcome)
    result = Validated(
        night=night, dump=str(folder), source_file=outcome.source_file,
        rows_received=outcome.rows_received, accepted=len(outcome.accepted),
        rejected=len(outcome.rejected), reject_share=round(outcome.reject_share, 4),
        validation_report=report)
    stage(lake, night, outcome.accepted, outcome.rejected, result.to_xcom())
    return result
