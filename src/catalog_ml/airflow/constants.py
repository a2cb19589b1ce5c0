"""What every DAG file shares: owner, start date, the champion's Asset URI, the night's steps.

Standard library only: DAG files import it at parse time, and parsing must stay fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

OWNER = "catalog-ml"
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Updated by catalog_retrain's promote task, scheduling catalog_reclassify.
CHAMPION_ASSET_URI = "catalog-ml://models/champion"
# The order of a night; catalog_ml.pipeline.nightly.STEPS holds the same names (a test keeps
# them equal: that module pulls in delta-rs, too slow for a DAG file to import).
NIGHT_STEPS = ("validate", "ingest", "embed", "classify", "report")


def dag_arguments(*, tags: list[str], retries: int, retry_delay: dt.timedelta,
                  **extra: Any) -> dict[str, Any]:
    """The ``@dag`` keyword arguments all catalog-ml DAGs share, plus ``extra``: installed
    unpaused, no catch-up (older nights come through a backfill), one run at a time."""
    return {
        "start_date": START_DATE,
        "catchup": False,
        "is_paused_upon_creation": False,
        "max_active_runs": 1,
        "default_args": {"owner": OWNER, "retries": retries, "retry_delay": retry_delay},
        "tags": [OWNER, *tags],
        **extra,
    }
