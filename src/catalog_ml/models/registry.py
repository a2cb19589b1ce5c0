"""The model registry: the ``models`` table plus artifact folders under ``<lake>/artifacts``.

A status change touches every affected row in one MERGE commit, so there is never a moment
with two champions or none.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from catalog_ml.lake import Lake
from catalog_ml.lake.tables import MODELS
from catalog_ml.models.artifact import TrainedModel

CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"


@dataclass(frozen=True)
class ModelRecord:
    version: str
    status: str
    artifact_path: str
    metrics: dict[str, Any]
    encoder_version: str


def artifact_dir(lake: Lake, version: str) -> str:
    return lake.file_path("artifacts", "models", version)


def _records(lake: Lake) -> list[dict[str, Any]]:
    return lake.read("models").to_pylist()


def _as_record(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(version=row["version"], status=row["status"],
                       artifact_path=row["artifact_path"],
                       metrics=json.loads(row["metrics"] or "{}"),
                       encoder_version=row["encoder_version"])


def _champion_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rows if r["status"] == CHAMPION), None)


def champion(lake: Lake) -> ModelRecord | None:
    row = _champion_row(_records(lake))
    return None if row is None else _as_record(row)


def new_version(now: dt.datetime, existing: set[str]) -> str:
    base = now.strftime("%Y%m%d-%H%M%S")
    version, n = base, 1
    while version in existing:
        n += 1
        version = f"{base}-{n}"
    return version


def register(lake: Lake, model: TrainedModel, label_snapshot: str,
             champion_if_none: bool = True) -> ModelRecord:
    """Save the artifact and add it as a challenger (champion when the registry has none)."""
    now = dt.datetime.now(dt.UTC)
    rows = _records(lake)
    version = new_version(now, {r["version"] for r in rows})
    folder = model.save(artifact_dir(lake, version))
    status = CHAMPION if champion_if_none and _champion_row(rows) is None else CHALLENGER
    row = {
        "version": version, "status": status, "created_at": now,
        "promoted_at": now if status == CHAMPION else None, "artifact_path": folder,
        "metrics": json.dumps(model.metrics or {}), "n_train": (model.metrics or {}).get(
            "n_train"), "n_classes": len(model.classes),
        "encoder_version": model.encoder_version,
        "label_snapshot": label_snapshot,
    }
    lake.upsert("models", pa.Table.from_pylist([row], schema=MODELS.schema))
    return _as_record(row)


def promote(lake: Lake, version: str) -> ModelRecord:
    """Make ``version`` the champion and retire the current one, in one commit."""
    rows = {r["version"]: r for r in _records(lake)}
    if version not in rows:
        raise KeyError(f"no model version {version!r}; versions: {sorted(rows)}")
    now = dt.datetime.now(dt.UTC)
    changed = []
    for row in rows.values():
        if row["version"] == version:
            changed.append({**row, "status": CHAMPION, "promoted_at": now})
        elif row["status"] == CHAMPION:
            changed.append({**row, "status": RETIRED})
    lake.upsert("models", pa.Table.from_pylist(changed, schema=MODELS.schema))
    return _as_record({**rows[version], "status": CHAMPION})
