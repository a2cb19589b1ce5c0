"""Step 5 of a night: the inventory, pricing and quality tables and the HTML report.

Each table's rows for the night are replaced in one commit, so a rerun (or
``catalog-ml report --date D``) gives the same tables, and a backfill gives each night its own.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pyarrow as pa

from catalog_ml.config import Settings
from catalog_ml.lake import Lake
from catalog_ml.models.registry import record
from catalog_ml.pipeline.nights import require_night
from catalog_ml.pipeline.results import Reported
from catalog_ml.reports.inventory import inventory
from catalog_ml.reports.night_data import load_night
from catalog_ml.reports.night_html import night_html
from catalog_ml.reports.pricing import price_anomalies, price_summary
from catalog_ml.reports.quality import category_changes, quality

log = logging.getLogger(__name__)


def report_path(night: dt.date) -> str:
    return f"reports/{night.isoformat()}/report.html"


def _write(lake: Lake, name: str, night: dt.date, frame: pd.DataFrame) -> int:
    table = pa.Table.from_pandas(frame.assign(run_date=night), preserve_index=False)
    lake.replace_slice(name, table, {"run_date": night})  # conform() orders the columns
    return len(frame)


def _review_threshold(settings: Settings, lake: Lake, versions: list[str]) -> float | None:
    if settings.review_threshold >= 0:
        return settings.review_threshold
    try:
        return record(lake, versions[0]).metrics.get("review_threshold") if versions else None
    except KeyError:
        return None


def report_night(settings: Settings, night: dt.date) -> Reported:
    lake = Lake.from_settings(settings)
    require_night(lake, night)
    data = load_night(lake, night)
    stock = inventory(data)
    anomalies = price_anomalies(data)
    pricing = price_summary(data, anomalies)
    changes = category_changes(data)
    figures = quality(data, changes)
    written = {
        "report_inventory": _write(lake, "report_inventory", night, stock),
        "report_pricing": _write(lake, "report_pricing", night, pricing),
        "price_anomalies": _write(lake, "price_anomalies", night, anomalies),
        "category_changes": _write(lake, "category_changes", night, changes),
        "report_quality": _write(lake, "report_quality", night, pd.DataFrame([figures])),
    }
    html = night_html(data, figures, stock, pricing, anomalies, changes,
                      _review_threshold(settings, lake, figures["model_versions"]))
    path = lake.write_file(report_path(night), html.encode())
    log.info("night %s: report at %s", night, path)
    return Reported(night=night, report=path, rows=written,
                    category_drift=figures["category_drift"], price_anomalies=len(anomalies))
