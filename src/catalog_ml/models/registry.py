"""The model registry: the ``models`` table plus artifact folders under ``<lake>/artifacts``.

A status change touches every affected row in one MERGE commit, so there is never a moment
with two champions or none. Each version's folder holds the model (safetensors + JSON) and its
evaluation report (``evaluation.json`` and ``evaluation.html``). Paths are stored relative to
the lake and resolved against the lake that reads them, so a lake copied or restored elsewhere
uses its own artifacts; each artifact's SHA-256 is stored and checked before the model is used.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog_ml.errors import ConfigError
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import MODELS

if TYPE_CHECKING:  # the model pulls in torch: imported where a model is loaded or saved
    from catalog_ml.models.ensemble import EnsembleModel

CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"
EVALUATION_JSON = "evaluation.json"
EVALUATION_HTML = "evaluation.html"


@dataclass(frozen=True)
class ModelRecord:
    version: str
    status: str
    artifact_path: str
    metrics: dict[str, Any]
    encoder_version: str
    artifact_sha256: str | None = None

    def location(self, lake: Lake) -> str:
        """Where this lake keeps the artifact (never the path another lake recorded)."""
        return artifact_dir(lake, self.version)

    def verify(self, lake: Lake) -> dict[str, Any]:
        """The artifact's checksum and numbers, without building the model (ArtifactError);
        returns its verified metadata (classes, review threshold, ...)."""
        from catalog_ml.models.ensemble import EnsembleModel

        meta, _ = EnsembleModel.verify(self.location(lake), self.artifact_sha256,
                                       lake.storage_options or None)
        return meta

    def load(self, lake: Lake) -> EnsembleModel:
        """The verified model (ArtifactError when its files fail their checks)."""
        from catalog_ml.models.ensemble import EnsembleModel

        return EnsembleModel.load(self.location(lake), self.artifact_sha256,
                                  lake.storage_options or None)


def artifact_relative(version: str) -> str:
    return f"artifacts/models/{version}"


def artifact_dir(lake: Lake, version: str) -> str:
    return lake.file_path(artifact_relative(version))


def _records(lake: Lake) -> list[dict[str, Any]]:
    return lake.read("models").to_pylist()


def _as_record(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(version=row["version"], status=row["status"],
                       artifact_path=row["artifact_path"],
                       metrics=json.loads(row["metrics"] or "{}"),
                       encoder_version=row["encoder_version"],
                       artifact_sha256=row.get("artifact_sha256"))


def _champion_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in rows if r["status"] == CHAMPION), None)


def champion(lake: Lake) -> ModelRecord | None:
    row = _champion_row(_records(lake))
    return None if row is None else _as_record(row)


def record(lake: Lake, version: str) -> ModelRecord:
    rows = {r["version"]: r for r in _records(lake)}
    if version not in rows:
        raise UnknownVersionError(f"no model version {version!r}; versions: {sorted(rows)}")
    return _as_record(rows[version])


class UnknownVersionError(ConfigError, KeyError):
    """A version the registry does not hold (a typo in ``promote VERSION``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def new_version(now: dt.datetime, existing: set[str]) -> str:
    base = now.strftime("%Y%m%d-%H%M%S")
    version, n = base, 1
    while version in existing:
        n += 1
        version = f"{base}-{n}"
    return version


def register(lake: Lake, model: EnsembleModel, label_snapshot: str,
             evaluation: tuple[str, str] | None = None,
             champion_if_none: bool = True) -> ModelRecord:
    """Save the artifact (and the evaluation report: JSON text, HTML text) and add the version
    as a challenger, or as champion when the registry has none."""
    now = dt.datetime.now(dt.UTC)
    rows = _records(lake)
    version = new_version(now, {r["version"] for r in rows})
    digest = model.save(artifact_dir(lake, version), lake.storage_options or None)
    if evaluation is not None:
        for name, text in zip((EVALUATION_JSON, EVALUATION_HTML), evaluation, strict=True):
            lake.write_file(f"{artifact_relative(version)}/{name}", text.encode())
    status = CHAMPION if champion_if_none and _champion_row(rows) is None else CHALLENGER
    row = {
        "version": version, "status": status, "created_at": now,
        "promoted_at": now if status == CHAMPION else None,
        "artifact_path": artifact_relative(version), "artifact_sha256": digest,
        "metrics": json.dumps(model.metrics), "n_train": model.metrics.get(
            "protocol", {}).get("training"), "n_classes": len(model.classes),
        "encoder_version": model.encoder_version,
        "label_snapshot": label_snapshot,
    }
    lake.upsert("models", pa.Table.from_pylist([row], schema=MODELS.schema))
    return _as_record(row)


def promote(lake: Lake, version: str) -> ModelRecord:
    """Make ``version`` the champion and retire the current one, in one commit."""
    rows = {r["version"]: r for r in _records(lake)}
    if version not in rows:
        raise UnknownVersionError(f"no model version {version!r}; versions: {sorted(rows)}")
    if rows[version]["status"] == CHAMPION:
        return _as_record(rows[version])
    now = dt.datetime.now(dt.UTC)
    changed = []
    for row in rows.values():
        if row["version"] == version:
            changed.append({**row, "status": CHAMPION, "promoted_at": now})
        elif row["status"] == CHAMPION:
            changed.append({**row, "status": RETIRED})
    lake.upsert("models", pa.Table.from_pylist(changed, schema=MODELS.schema))
    return _as_record({**rows[version], "status": CHAMPION})


def rollback(lake: Lake) -> ModelRecord:
    """Bring back the champion before the current one (the retired version promoted last)."""
    rows = _records(lake)
    current = _champion_row(rows)
    earlier = [r for r in rows if r["status"] == RETIRED and r["promoted_at"] is not None
               and (current is None or r["version"] != current["version"])]
    if not earlier:
        raise ConfigError("nothing to roll back to: no earlier champion in the registry")
    return promote(lake, max(earlier, key=lambda r: r["promoted_at"])["version"])


def summary_rows(lake: Lake) -> list[dict[str, Any]]:
    """One line per version with its headline figures, oldest first (for ``catalog-ml models``)."""
    out = []
    for row in sorted(_records(lake), key=lambda r: r["created_at"]):
        metrics = json.loads(row["metrics"] or "{}")
        cv = metrics.get("cross_validation", {}).get("ensemble", {})
        leaf = cv.get(f"level_{len(cv)}", {})
        review = metrics.get("holdout", {}).get("review", {})
        out.append({
            "version": row["version"], "status": row["status"],
            "created_at": row["created_at"], "promoted_at": row["promoted_at"],
            "labels": row["label_snapshot"], "n_train": row["n_train"],
            "classes": row["n_classes"], "cv_leaf_accuracy": leaf.get("accuracy"),
            "cv_leaf_macro_f1": leaf.get("macro_f1"),
            "review_threshold": metrics.get("review_threshold"),
            "holdout_coverage": review.get("coverage"),
            "holdout_precision": review.get("precision")})
    return out
