"""After a promotion or rollback: classify the latest night again with the champion, and
rebuild that night's reports so they describe the classifications they sit beside."""

from __future__ import annotations

import datetime as dt
import logging

from catalog_ml.config import Settings
from catalog_ml.lake import Lake
from catalog_ml.pipeline.classify import classify_night
from catalog_ml.pipeline.embed import embed_night
from catalog_ml.pipeline.publish import report_night
from catalog_ml.pipeline.results import Reclassified

log = logging.getLogger(__name__)


def latest_night(lake: Lake) -> dt.date | None:
    nights = lake.partition_values("product_snapshots", "dump_date")  # the Delta log alone
    return nights[-1] if nights else None


def reclassify_latest(settings: Settings) -> Reclassified:
    lake = Lake.from_settings(settings)
    with lake.writer("reclassify the latest night"):
        night = latest_night(lake)
        if night is None:
            return Reclassified(night=dt.date.today(), classified=0, embedded=0,
                                skipped="no night in the lake yet")
        # a champion on other encoders needs their vectors; cheap when it has them
        embedded = embed_night(settings, night).embedded
        result = classify_night(settings, night)
        report = report_night(settings, night).report
    return Reclassified(night=night, classified=result.classified, embedded=embedded,
                        model_version=result.model_version, report=report,
                        skipped=result.skipped)
