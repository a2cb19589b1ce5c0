"""Validating one night's dump: every row accepted or rejected with all its reasons.

Great Expectations runs the suite over the dump with the row number as the index column, so
each failed expectation names the rows it rejected. Rows fail individually (they go to
quarantine); gate expectations and the rejected-share limit fail the night as a whole, before
any table is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import threading
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from catalog_ml.config import Settings
from catalog_ml.taxonomy import normalise_category, path_problem, unknown_problem
from catalog_ml.validation.contract import KNOWN_COLUMNS, load_contract
from catalog_ml.validation.dump import ROW_COLUMN, DumpError, RawDump, read_dump
from catalog_ml.validation.images import ImageCheck, ImageLimits, check_images
from catalog_ml.validation.reasons import reason_counts
from catalog_ml.validation.records import typed_rows
from catalog_ml.validation.suite import NUMBER, build_suite

log = logging.getLogger(__name__)
VALUE_PREVIEW = 60


class ValidationGateError(DumpError):
    """The night is stopped: the dump as a whole failed a gate. Nothing was written."""


@dataclass
class ValidationOutcome:
    night: dt.date
    source_file: str
    rows_received: int
    accepted: pd.DataFrame
    rejected: pd.DataFrame  # source_row, product_id, reasons (list), raw_record (JSON)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    gx_result: dict[str, Any] = field(default_factory=dict)

    @property
    def reject_share(self) -> float:
        return len(self.rejected) / self.rows_received if self.rows_received else 0.0


def _preview(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= VALUE_PREVIEW else text[:VALUE_PREVIEW] + "...")


def _price_value(text: Any) -> float:
    if text is None or not isinstance(text, str):
        return math.nan
    if not re.match(NUMBER, text):
        return math.nan
    return float(text.strip()) + 0.0  # "-0" is the price 0, not a negative zero


Details = dict[tuple[int, str], str]  # (row, checked column) -> what is wrong, in words


def _category_checks(frame: pd.DataFrame, settings: Settings, taxonomy: Collection[str],
                     details: Details) -> None:
    """Derived columns ``category_path_ok`` and ``category_known`` (None without a label)."""
    path_ok: list[bool | None] = []
    known: list[bool | None] = []
    known_set = set() if settings.allow_new_categories else set(taxonomy)
    for row, value in zip(frame[ROW_COLUMN], frame["category"], strict=True):
        path = normalise_category(value) if isinstance(value, str) else None
        if path is None:
            path_ok.append(None)
            known.append(None)
            continue
        problem = path_problem(path, settings.max_category_depth)
        path_ok.append(problem is None)
        if problem:
            details[(int(row), "category_path_ok")] = problem
        unknown = None if problem else unknown_problem(path, known_set)
        known.append(None if problem else unknown is None)
        if unknown:
            details[(int(row), "category_known")] = unknown
    frame["category_path_ok"] = pd.Series(path_ok, index=frame.index, dtype=object)
    frame["category_known"] = pd.Series(known, index=frame.index, dtype=object)


def prepare_frame(raw: RawDump, settings: Settings, taxonomy: Collection[str] = (),
                  image_checks: list[ImageCheck | None] | None = None,
                  ) -> tuple[pd.DataFrame, Details]:
    """The dump's columns plus the derived ones the suite checks (price_value, image_state,
    category_path_ok, category_known). ``image_checks``: the photos already checked (the
    API checks each product's photo where it lies), else they are checked in the dump folder."""
    frame = raw.frame.copy()
    for name in KNOWN_COLUMNS:
        if name not in frame.columns and name not in load_contract().required:
            frame[name] = None
    for name in ("product_id", "title"):
        if name in frame.columns:
            frame[name] = frame[name].map(lambda v: v.strip() if isinstance(v, str) else v)
            frame[name] = frame[name].map(lambda v: v if v else None)
    frame["currency"] = frame["currency"].map(
        lambda v: v.strip().upper() if isinstance(v, str) else v)
    frame["price_value"] = frame["price"].map(_price_value).astype("float64")
    pattern = load_contract().prop("image")["pattern"]
    images = frame["image"].where(frame["image"].astype(str).str.match(pattern), None)
    checks = image_checks if image_checks is not None else check_images(
        raw.folder, images.tolist(), verify=settings.check_images,
        limits=ImageLimits.from_settings(settings))
    frame["image_state"] = [c.state if c else None for c in checks]
    frame["image_uri"] = [c.uri if c else None for c in checks]
    frame["image_digest"] = [c.digest if c else None for c in checks]
    details: Details = {
        (int(row), "image_state"): f"{c.state}: {c.detail}"
        for row, c in zip(frame[ROW_COLUMN], checks, strict=True) if c and c.detail
    }
    _category_checks(frame, settings, taxonomy, details)
    return frame, details


_DEFINITIONS: dict[tuple[Any, ...], Any] = {}
_GX_LOCK = threading.Lock()


def _definition(settings: Settings) -> Any:
    """The suite's validation definition, built once per process and suite settings: making a
    GX context costs more than validating a small batch (what the API sends)."""
    key = (settings.max_title_chars, settings.max_description_chars,
           settings.max_category_depth)
    if key not in _DEFINITIONS:
        import great_expectations as gx

        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        quiet_gx()
        context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except (ImportError, AttributeError):  # pragma: no cover - cosmetic only
            pass
        asset = context.data_sources.add_pandas("dump").add_dataframe_asset("products")
        batch = asset.add_batch_definition_whole_dataframe("night")
        suite = context.suites.add(build_suite(load_contract(), settings))
        _DEFINITIONS[key] = context.validation_definitions.add(
            gx.ValidationDefinition(name="product_dump", data=batch, suite=suite))
    return _DEFINITIONS[key]


def prepare_gx(settings: Settings) -> threading.Thread:
    """Import Great Expectations and build the suite in a thread (seconds of imports), while
    the caller reads the dump and checks its photos, whose file reads and decoding release
    the GIL. The caller joins it before it returns (see ``preload_classifier``)."""
    def build() -> None:
        with _GX_LOCK:
            _definition(settings)

    thread = threading.Thread(target=build, name="catalog-ml-gx", daemon=True)
    thread.start()
    return thread


def _run_gx(frame: pd.DataFrame, settings: Settings) -> Any:
    with _GX_LOCK:  # one GX context per process: its runs do not interleave
        return _definition(settings).run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE",
                           "unexpected_index_column_names": [ROW_COLUMN],
                           "return_unexpected_index_query": False})


def quiet_gx() -> None:
    """GX logs each ephemeral context at INFO on loggers of its own: keep its warnings only."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _raw_record(row: pd.Series, columns: list[str]) -> str:
    """The row as received (text values), so a fixed record can be re-sent as it was."""
    return json.dumps({c: row[c] for c in columns if row[c] is not None}, ensure_ascii=False)


def validate_dump(folder: str | Path, night: dt.date, settings: Settings,
                  taxonomy: Collection[str] = ()) -> ValidationOutcome:
    """Read and validate a dump; raise ValidationGateError (or DumpError) to stop the night.

    ``taxonomy``: the lake's known categories; empty before the first labelled night, when
    the dump's own labels found the taxonomy."""
    gx_ready = prepare_gx(settings)  # its imports overlap reading the dump and its photos
    try:
        return validate_raw(read_dump(folder, settings.storage_options), night, settings,
                            taxonomy)
    finally:  # an unreadable dump ends first: no import may be running when the process exits
        gx_ready.join()


def validate_raw(raw: RawDump, night: dt.date, settings: Settings,
                 taxonomy: Collection[str] = (),
                 image_checks: list[ImageCheck | None] | None = None,
                 enforce_reject_share: bool = True) -> ValidationOutcome:
    """Validate records already read (a dump's, or the products of one API request): the
    suite, the same reasons, the same typed rows and content hashes."""
    if raw.rows_received == 0:
        raise ValidationGateError(f"{raw.source_file}: the dump holds no rows")
    original_columns = [c for c in raw.frame.columns if c != ROW_COLUMN]
    missing = [c for c in load_contract().required if c not in original_columns]
    if missing and len(raw.frame):
        raise ValidationGateError(
            f"{raw.source_file}: required column(s) {missing} missing; "
            f"columns found: {original_columns}")
    frame, details = prepare_frame(raw, settings, taxonomy, image_checks)
    received = raw.frame.set_index(ROW_COLUMN, drop=False)
    reasons: dict[int, list[str]] = defaultdict(list)
    summaries: list[dict[str, Any]] = []
    gx_json: dict[str, Any] = {}
    if len(frame):
        result = _run_gx(frame, settings)
        gx_json = result.to_json_dict()
        for item in result.results:
            meta = item.expectation_config.meta or {}
            failed_rows = item.result.get("unexpected_index_list") or []
            summaries.append({
                "expectation": item.expectation_config.type,
                "column": item.expectation_config.kwargs.get("column"),
                "field": meta.get("field"), "rule": meta.get("message"),
                "success": bool(item.success), "unexpected_count":
                    int(item.result.get("unexpected_count") or 0),
            })
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise ValidationGateError(
                    f"validation of {meta.get('field')} could not run: "
                    f"{item.exception_info.get('exception_message')}")
            if meta.get("gate") and not item.success:
                raise ValidationGateError(f"{raw.source_file}: {meta['message']}")
            column = item.expectation_config.kwargs.get("column")
            for failed in failed_rows:
                row = int(failed[ROW_COLUMN])
                reasons[row].append(_reason(meta, received.at[row, meta["field"]]
                                            if meta["field"] in received.columns else None,
                                            details.get((row, column))))

    by_row = frame.set_index(ROW_COLUMN, drop=False)
    rejected_rows = [
        {"source_row": row, "product_id": by_row.at[row, "product_id"],
         "reasons": sorted(set(r)), "raw_record": _raw_record(received.loc[row],
                                                                original_columns)}
        for row, r in sorted(reasons.items())
    ]
    rejected_rows += [
        {"source_row": m.row, "product_id": None, "reasons": [m.reason], "raw_record": m.raw}
        for m in raw.malformed
    ]
    rejected = pd.DataFrame(rejected_rows,
                            columns=["source_row", "product_id", "reasons", "raw_record"])
    good = frame[~frame[ROW_COLUMN].isin(reasons.keys())]
    accepted = typed_rows(good, original_columns)
    outcome = ValidationOutcome(
        night=night, source_file=str(raw.source_file), rows_received=raw.rows_received,
        accepted=accepted, rejected=rejected, expectations=summaries, gx_result=gx_json)
    if enforce_reject_share and outcome.reject_share > settings.max_reject_share:
        raise ValidationGateError(
            f"{raw.source_file}: {len(rejected)} of {raw.rows_received} rows rejected "
            f"({outcome.reject_share:.0%}), above max_reject_share "
            f"{settings.max_reject_share:.0%}; top reasons: {_top_reasons(rejected)}")
    log.info("validated %s: %d accepted, %d rejected", raw.source_file, len(accepted),
             len(rejected))
    return outcome


def _reason(meta: dict[str, Any], value: Any, detail: str | None) -> str:
    """'field: rule (value as received)'; where the row has its own detail (what is wrong with
    its photo or its category), that detail is the rule."""
    rule = detail or meta["message"]
    suffix = f" ({_preview(value)})" if value is not None else ""
    return f"{meta['field']}: {rule}{suffix}"


def _top_reasons(rejected: pd.DataFrame, limit: int = 3) -> str:
    return "; ".join(f"{name} x{count}"
                     for name, count in reason_counts(rejected).most_common(limit))
