"""Housekeeping: delete what no reader needs any more, keep what time travel relies on.

Every rerun replaces a slice and leaves the old files for time travel; a Spark write killed
half-way leaves a ``spark-write-*/_temporary`` folder; every night leaves its staging folder.
``vacuum`` removes, under the writer lock:

- files that were replaced more than ``retention_hours`` ago, and files no commit ever named
  (delta-rs ``vacuum(full=True)``); in ``labels`` the files of every label snapshot a
  registered model was trained on (``labels@vN`` in the registry) are kept, so
  ``train --labels-version N`` still reads it;
- what killed Spark writes left: ``_temporary`` folders and staging folders with no file left;
- the lake's ``staging/<night>`` hand-over folders last written before the retention.

``maintain`` is what the weekly ``catalog_maintenance`` DAG runs: ``compact`` (each night's
small files rewritten into few large ones, one commit per table, data unchanged), ``vacuum``,
then a Delta checkpoint per table (readers replay one Parquet file instead of every JSON
commit; last, as vacuum itself commits). Old log entries are never cleaned up: a label
snapshot is read by its version, and that needs the log up to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import pyarrow.fs as pafs

from catalog_ml.lake.store import Lake
from catalog_ml.lake.tables import ALL_TABLES, label_snapshot_version

log = logging.getLogger(__name__)
SPARK_STAGING = "spark-write-"


def protected_label_versions(lake: Lake) -> list[int]:
    """The ``labels`` versions that registered models were trained on."""
    named = lake.read("models", columns=["label_snapshot"]).column("label_snapshot")
    return sorted({v for text in named.to_pylist()
                   if (v := label_snapshot_version(text)) is not None})


def vacuum(lake: Lake, retention_hours: float, dry_run: bool = False) -> dict[str, Any]:
    """Clean the lake; returns what was (or, with ``dry_run``, would be) deleted per table."""
    now = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {"retention_hours": retention_hours, "dry_run": dry_run,
                              "tables": {}, "debris": [], "staging": []}
    hours = math.ceil(retention_hours)
    with lake.writer("vacuum"):
        kept = protected_label_versions(lake)
        report["kept_label_versions"] = kept
        for name in ALL_TABLES:
            table = lake.table(name)
            deleted = table.vacuum(retention_hours=hours, dry_run=dry_run,
                                   enforce_retention_duration=False, full=True,
                                   keep_versions=kept if name == "labels" and kept else None)
            report["tables"][name] = {"files": len(deleted)}
            report["debris"] += _spark_debris(lake, name, dry_run)
        report["staging"] = _old_staging(lake, now - dt.timedelta(hours=retention_hours),
                                         dry_run)
    log.info("vacuum: %s", {k: v["files"] for k, v in report["tables"].items()})
    return report


COMPACT_TARGET_BYTES = 128 * 1024 * 1024


def compact(lake: Lake, dry_run: bool = False) -> dict[str, Any]:
    """Rewrite small files into ``COMPACT_TARGET_BYTES`` ones; per table, files added/removed.

    One optimize commit per table, under the writer lock (it must not race a night's replace
    of the same slice); a table with nothing to merge gets no commit."""
    report: dict[str, Any] = {}
    with lake.writer("compact"):
        for name in ALL_TABLES:
            table = lake.table(name)
            files = len(table.file_uris())
            if dry_run or files < 2:
                report[name] = {"files": files, "added": 0, "removed": 0}
                continue
            metrics = table.optimize.compact(target_size=COMPACT_TARGET_BYTES)
            report[name] = {"files": files, "added": int(metrics.get("numFilesAdded", 0)),
                            "removed": int(metrics.get("numFilesRemoved", 0))}
    log.info("compact: %s", {k: (v["removed"], v["added"]) for k, v in report.items()})
    return report


def checkpoint(lake: Lake, dry_run: bool = False) -> dict[str, int]:
    """A checkpoint of each table's current version; the versions checkpointed."""
    done: dict[str, int] = {}
    with lake.writer("checkpoint"):
        for name in ALL_TABLES:
            table = lake.table(name)
            if not dry_run:
                table.create_checkpoint()
            done[name] = table.version()
    return done


def maintain(lake: Lake, retention_hours: float, dry_run: bool = False) -> dict[str, Any]:
    """Compact, vacuum and checkpoint the lake, in that order, under one writer lock."""
    with lake.writer("maintenance"):
        compacted = compact(lake, dry_run)
        vacuumed = vacuum(lake, retention_hours, dry_run)
        return {"compact": compacted, "vacuum": vacuumed,
                "checkpoint": checkpoint(lake, dry_run)}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What ``maintain`` did, in the few figures a person (or the DAG's XCom) reads."""
    return {"compacted": {k: v for k, v in result["compact"].items() if v["removed"]},
            "checkpointed": result["checkpoint"],
            "vacuumed_files": sum(t["files"] for t in result["vacuum"]["tables"].values()),
            "kept_label_versions": result["vacuum"]["kept_label_versions"]}


def _spark_debris(lake: Lake, name: str, dry_run: bool) -> list[str]:
    """Folders that killed Spark writes left in a table: never committed, safe under the lock."""
    filesystem, root = lake.filesystem()
    table_root = f"{root}/{name}"
    removed = []
    for info in filesystem.get_file_info(pafs.FileSelector(table_root, allow_not_found=True)):
        if info.type != pafs.FileType.Directory or not info.base_name.startswith(SPARK_STAGING):
            continue
        temporary = f"{info.path}/_temporary"
        if filesystem.get_file_info(temporary).type == pafs.FileType.Directory:
            removed.append(temporary)
            if not dry_run:
                filesystem.delete_dir(temporary)
        left = [f for f in filesystem.get_file_info(pafs.FileSelector(info.path))
                if f.is_file and f.base_name.endswith(".parquet")]
        if not left:
            removed.append(info.path)
            if not dry_run:
                filesystem.delete_dir(info.path)
    return removed


def _old_staging(lake: Lake, before: dt.datetime, dry_run: bool) -> list[str]:
    filesystem, root = lake.filesystem()
    removed = []
    selector = pafs.FileSelector(f"{root}/staging", allow_not_found=True)
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.Directory:
            continue
        files = filesystem.get_file_info(pafs.FileSelector(info.path))
        written = [f.mtime for f in files if f.mtime is not None]
        if written and max(written) < before:  # by when it was written, not by its night
            removed.append(info.path)
            if not dry_run:
                filesystem.delete_dir(info.path)
    return removed
