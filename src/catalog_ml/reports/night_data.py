"""Everything the morning reports read about one night and the night before it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from catalog_ml.lake import Lake

CLASSIFICATION_COLUMNS = ["product_id", "content_hash", "category", "confidence",
                          "needs_review", "model_version", "top_k", "modality_weights"]
SNAPSHOT_COLUMNS = ["product_id", "content_hash", "title", "description", "price", "currency",
                    "image", "image_uri"]


@dataclass
class NightData:
    night: dt.date
    previous_night: dt.date | None
    classified: pd.DataFrame  # tonight's classifications joined with the snapshot
    snapshot: pd.DataFrame  # every valid row of tonight
    quarantine: pd.DataFrame  # tonight's rejected rows (reasons)
    previous_classified: pd.DataFrame  # the same for the previous night (empty if none)
    previous_snapshot: pd.DataFrame


def previous_night(lake: Lake, night: dt.date) -> dt.date | None:
    """The latest earlier night that has valid products in the lake (from the Delta log: a
    million-product lake's dates are not read)."""
    earlier = [d for d in lake.partition_values("product_snapshots", "dump_date") if d < night]
    return earlier[-1] if earlier else None


def _classified(lake: Lake, night: dt.date, snapshot: pd.DataFrame) -> pd.DataFrame:
    classes = lake.read("classifications", where={"run_date": night},
                        columns=CLASSIFICATION_COLUMNS).to_pandas()
    return classes.merge(snapshot.drop(columns=["content_hash"]), on="product_id", how="left")


def _snapshot(lake: Lake, night: dt.date) -> pd.DataFrame:
    return lake.read("product_snapshots", where={"dump_date": night},
                     columns=SNAPSHOT_COLUMNS).to_pandas()


def load_night(lake: Lake, night: dt.date) -> NightData:
    snapshot = _snapshot(lake, night)
    before = previous_night(lake, night)
    previous_snapshot = _snapshot(lake, before) if before else snapshot.iloc[:0]
    classified = _classified(lake, night, snapshot)
    return NightData(
        night=night, previous_night=before, classified=classified, snapshot=snapshot,
        quarantine=lake.read("quarantine", where={"dump_date": night},
                             columns=["source_row", "product_id", "reasons"]).to_pandas(),
        previous_classified=_classified(lake, before, previous_snapshot) if before
        else classified.iloc[:0],
        previous_snapshot=previous_snapshot)
