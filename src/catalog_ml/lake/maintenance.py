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
