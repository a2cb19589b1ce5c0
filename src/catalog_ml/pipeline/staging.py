"""Hand-over between the validate and ingest steps, kept in the lake under ``staging/<night>``.

Validation writes no table: it stages what it accepted and rejected, so a gate failure leaves
every table as it was and an Airflow retry of ingest does not have to validate again.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from catalog_ml.errors import NightMissingError
from catalog_ml.lake import Lake


class StagingMissingError(NightMissingError):
    pass


def _folder(night: dt.date) -> str:
    return f"staging/{night.isoformat()}"


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def stage(lake: Lake, night: dt.date, accepted: pd.DataFrame, rejected: pd.DataFrame,
          summary: dict[str, Any]) -> None:
    folder = _folder(night)
    lake.write_file(f"{folder}/accepted.parquet", _parquet_bytes(accepted))
    lake.write_file(f"{folder}/rejected.parquet", _parquet_bytes(rejected))
    # summary last: its presence says the other two are complete
    lake.write_file(f"{folder}/summary.json", json.dumps(summary, default=str).encode())


def load_staged(lake: Lake, night: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    folder = _folder(night)
    if not lake.file_exists(f"{folder}/summary.json"):
        raise StagingMissingError(
            f"night {night}: nothing validated yet (no {lake.file_path(folder)}); "
            "run the validate step first")
    summary = json.loads(lake.read_file(f"{folder}/summary.json"))
    accepted = pq.read_table(io.BytesIO(lake.read_file(f"{folder}/accepted.parquet")))
    rejected = pq.read_table(io.BytesIO(lake.read_file(f"{folder}/rejected.parquet")))
    return accepted.to_pandas(), rejected.to_pandas(), summary
