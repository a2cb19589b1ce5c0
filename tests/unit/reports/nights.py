"""Hand-made nights for the report modules' tests: classified rows and their snapshots."""

import datetime as dt
import math

import numpy as np
import pandas as pd

from catalog_ml.reports.night_data import NightData

NIGHT, BEFORE = dt.date(2026, 11, 2), dt.date(2026, 11, 1)


def night(rows: list[dict], when: dt.date = NIGHT) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(rows)
    for column, default in (("content_hash", "h"), ("confidence", 0.9), ("needs_review", False),
                            ("model_version", "m1"), ("price", np.nan), ("currency", None),
                            ("image", None), ("image_uri", None), ("description", None),
                            ("title", "t")):
        if column not in frame:
            frame[column] = default
        elif default is not None and not (isinstance(default, float) and math.isnan(default)):
            frame[column] = frame[column].where(frame[column].notna(), default)
    snapshot = frame[["product_id", "content_hash", "title", "description", "price", "currency",
                      "image", "image_uri"]]
    return frame, snapshot


def data(tonight: list[dict], before: list[dict] | None = None,
         quarantine: list[list[str]] | None = None) -> NightData:
    classified, snapshot = night(tonight)
    previous, previous_snapshot = night(before or [], BEFORE) if before else (
        classified.iloc[:0], snapshot.iloc[:0])
    return NightData(NIGHT, BEFORE if before else None, classified, snapshot,
                     pd.DataFrame({"reasons": quarantine or []}), previous, previous_snapshot)
