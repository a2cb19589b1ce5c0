"""Reading one night's product dump folder into text columns, losing nothing.

Every value is read as text (or None when absent) so that validation sees exactly what the
shop exported: a price of ``"12,5"`` or ``inf`` must reach the rules as written, not be coerced
or dropped by a reader. Records the reader itself cannot parse (a CSV line with the wrong number
of fields, a JSONL line that is not an object) are kept as *malformed* records with a reason, so
they land in quarantine instead of vanishing.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from catalog_ml.errors import DataError
from catalog_ml.validation.landing import DumpFolder
from catalog_ml.validation.unicode_text import (
    not_unicode_reason,
    record_texts,
    shown,
    unstorable,
)

DUMP_FILES = ("products.parquet", "products.csv", "products.jsonl")
ROW_COLUMN = "_row"


class DumpError(DataError):
    """The dump as a whole cannot be used tonight; the message names the problem."""

    kind = "night stopped"


@dataclass
class MalformedRecord:
    row: int
    raw: str
    reason: str


@dataclass
class RawDump:
    folder: DumpFolder
    source_file: str
    frame: pd.DataFrame  # text columns plus _row (1-based record number)
    malformed: list[MalformedRecord] = field(default_factory=list)

    @property
    def rows_received(self) -> int:
        return len(self.frame) + len(self.malformed)


def dump_readiness(folder: DumpFolder | str | Path, marker: str, settle_s: float,
                   now: float | None = None) -> tuple[bool, str]:
    """Whether a night's dump folder is complete, and why (not); cheap enough to poll.

    Complete when it holds a product file and either the ``marker`` file (written last by the
    shop's export) or nothing in it has changed for ``settle_s`` seconds (its entries' and
    their own entries' modification times: a file still being copied keeps moving). A dump
    that landed long ago is therefore ready at the first look."""
    import time

    folder = folder if isinstance(folder, DumpFolder) else DumpFolder.at(folder)
    if not folder.exists():
        return False, f"{folder} does not exist yet"
    present = [name for name in DUMP_FILES if folder.has_file(name)]
    if not present:
        return False, f"{folder} holds none of {', '.join(DUMP_FILES)} yet"
    if marker and folder.has_file(marker):
        return True, f"{folder}/{marker} is there"
    if folder.is_local:
        times = [entry.stat().st_mtime for entry in [folder.path, *folder.path.iterdir()]]
    else:
        times = [info.mtime.timestamp() for info in folder.entries() if info.mtime]
    quiet = (now if now is not None else time.time()) - max(times, default=0.0)
    if quiet >= settle_s:
        return True, f"{folder} unchanged for {quiet:.0f} s (no {marker} marker)"
    return False, (f"{folder} changed {quiet:.0f} s ago; waiting for {marker} or "
                   f"{settle_s:.0f} s without change")


def find_dump_file(folder: DumpFolder) -> str:
    """The folder's one product file (its name); DumpError where there is none or several."""
    if (detail := unstorable(str(folder))) is not None:  # it goes into reports and tables
        raise DumpError(f"dump folder {shown(str(folder))}: the path is not UTF-8 text "
                        f"({detail}); rename the folder")
    if not folder.exists():
        raise DumpError(f"dump folder {folder} does not exist or is not a folder")
    present = [name for name in DUMP_FILES if folder.has_file(name)]
    if not present:
        raise DumpError(f"dump folder {folder} holds none of {', '.join(DUMP_FILES)}")
    if len(present) > 1:
        raise DumpError(f"dump folder {folder} holds several product files "
                        f"({', '.join(present)}); keep one")
    name = present[0]
    if folder.is_local:
        target = folder.path / name
        if (not target.resolve().is_relative_to(folder.path.resolve())
                or not target.resolve().is_file()):
            raise DumpError(f"{target} is a link to a file outside the dump folder; copy the "
                            "file into the folder instead")
    return name


def read_dump(folder: DumpFolder | str | Path,
              storage_options: Mapping[str, str] | None = None) -> RawDump:
    """Read the folder's product file; raise DumpError when it cannot be read at all."""
    if not isinstance(folder, DumpFolder):
        folder = DumpFolder.at(folder, storage_options)
    name = find_dump_file(folder)
    source = folder.uri(name)
    readers = {".parquet": _read_parquet, ".csv": _read_csv, ".jsonl": _read_jsonl}
    reader = readers[Path(name).suffix]
    try:
        if folder.is_local:
            records, malformed = reader(folder.path / name)
        else:  # parsed from a local copy: the readers stream lines, object stores do not
            with tempfile.TemporaryDirectory(prefix="catalog-ml-dump-") as scratch:
                copy = Path(scratch) / name
                copy.write_bytes(folder.read_bytes(name))
                try:
                    records, malformed = reader(copy)
                except DumpError as exc:  # name the dump's own file, not the copy
                    raise DumpError(str(exc).replace(str(copy), source)) from None
    except DumpError:
        raise
    except Exception as exc:  # any parser failure is a whole-dump failure with its cause
        raise DumpError(f"cannot read {source}: {type(exc).__name__}: {exc}") from exc
    frame = records_frame(records)
    return RawDump(folder=folder, source_file=source, frame=frame, malformed=malformed)


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Text records (with ``_row``) as the frame validation reads: None for absent values."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({ROW_COLUMN: []})
    frame[ROW_COLUMN] = frame[ROW_COLUMN].astype("int64")
    for column in frame.columns:
        if column != ROW_COLUMN:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def as_text(value: Any) -> str | None:
    """A cell as the text a person would read; None for absent values (NaN, empty)."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    return text if text.strip() != "" else None


def _clean_name(name: Any) -> str:
    return str(name).strip().lstrip("\ufeff")


def _read_parquet(path: Path) -> tuple[list[dict[str, Any]], list[MalformedRecord]]:
    table = pq.read_table(path)
    names = [_clean_name(n) for n in table.column_names]
    _check_header(path, names)
    records = []
    for index, row in enumerate(table.to_pylist(), start=1):
        record: dict[str, Any] = {_clean_name(k): as_text(v) for k, v in row.items()}
        record[ROW_COLUMN] = index
        records.append(record)
    return records, []


def _read_csv(path: Path) -> tuple[list[dict[str, Any]], list[MalformedRecord]]:
    csv.field_size_limit(1 << 30)  # long titles are a validation concern, not a parser crash
    records: list[dict[str, Any]] = []
    malformed: list[MalformedRecord] = []
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return [], []
        names = [_clean_name(n) for n in header]
        _check_header(path, names)
        for index, fields in enumerate(reader, start=1):
            if not fields:
                continue  # a blank line is not a record
            reason = (f"record: expected {len(names)} fields, found {len(fields)}"
                      if len(fields) != len(names)
                      else not_unicode_reason(zip(names, fields, strict=True)))
            if reason is not None:
                raw = json.dumps([shown(f) for f in fields], ensure_ascii=False)
                malformed.append(MalformedRecord(index, raw, reason))
                continue
            record: dict[str, Any] = {
                n: as_text(v) for n, v in zip(names, fields, strict=True)}
            record[ROW_COLUMN] = index
            records.append(record)
    return records, malformed


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[MalformedRecord]]:
    records: list[dict[str, Any]] = []
    malformed: list[MalformedRecord] = []
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        for index, line in enumerate(handle, start=1):  # a record's row is its line
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                reason = f"record: bad JSON: {exc}"
                malformed.append(MalformedRecord(index, shown(line.rstrip("\n")), reason))
                continue
            if not isinstance(value, dict):
                reason = f"record: expected a JSON object, found {type(value).__name__}"
                malformed.append(MalformedRecord(index, shown(line.rstrip("\n")), reason))
                continue
            if (problem := not_unicode_reason(record_texts(value))) is not None:
                malformed.append(MalformedRecord(index, shown(line.rstrip("\n")), problem))
                continue
            record: dict[str, Any] = {_clean_name(k): as_text(v) for k, v in value.items()}
            record[ROW_COLUMN] = index
            records.append(record)
    return records, malformed


def _check_header(path: Path, names: list[str]) -> None:
    for position, name in enumerate(names, start=1):
        if (detail := unstorable(name)) is not None:
            raise DumpError(f"{path}: column {position} of the header is not UTF-8 text "
                            f"({detail}); export the file as UTF-8")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DumpError(f"{path}: duplicate column names {duplicates}")
    if ROW_COLUMN in names:
        raise DumpError(f"{path}: column name {ROW_COLUMN!r} is reserved")
