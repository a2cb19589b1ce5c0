"""The review queue: uncertain products out to a CSV, human decisions back into ``labels``.

A reviewer fills the ``correct_category`` column (a full path, ``A > B > C``) for the rows
they decide and leaves the others blank. On import every decided row becomes a label with
source ``review``; it outranks the dump's label (the latest label wins) and always stays in
the training split of the next retraining. A file with any bad row is refused as a whole, with
each bad row named, so a half-imported review never happens. A decision must be a category of
the lake's taxonomy (a typo would become a class of its own) unless new categories are asked
for explicitly.

Titles come from the dump, so the export is a spreadsheet injection channel: every text cell
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return)
is written with a leading apostrophe, and the import strips that apostrophe again.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from catalog_ml.config import Settings
from catalog_ml.errors import ReviewFileError
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import LABELS
from catalog_ml.pipeline.labels import known_categories
from catalog_ml.pipeline.nights import require_night
from catalog_ml.taxonomy import normalise_category, path_problem, unknown_problem

log = logging.getLogger(__name__)
DECISION = "correct_category"
TOP = 3
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_PROBLEMS_SHOWN = 20
COLUMNS = ["product_id", "title", "image", "category", "confidence",
           *[f"{kind}_{i}" for i in range(1, TOP + 1) for kind in ("top", "top_confidence")],
           "text_weight", "image_weight", "price_weight", "model_version", "run_date", DECISION]


def neutralise(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs: formula-like text gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The text ``neutralise`` wrote, as it was."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def review_queue(lake: Lake, night: dt.date) -> pd.DataFrame:
    """The night's ``needs_review`` products, most uncertain first."""
    classified = lake.read("classifications", where={"run_date": night}).to_pandas()
    queue = classified[classified["needs_review"].astype(bool)].sort_values(
        ["confidence", "product_id"])
    snapshot = lake.read("product_snapshots", where={"dump_date": night},
                         columns=["product_id", "title", "image"]).to_pandas()
    queue = queue.merge(snapshot, on="product_id", how="left")
    out = pd.DataFrame({"product_id": queue["product_id"], "title": queue["title"],
                        "image": queue["image"], "category": queue["category"],
                        "confidence": queue["confidence"].round(4)})
    for i in range(TOP):
        out[f"top_{i + 1}"] = [t[i]["category"] if len(t) > i else None for t in queue["top_k"]]
        out[f"top_confidence_{i + 1}"] = [round(t[i]["confidence"], 4) if len(t) > i else None
                                          for t in queue["top_k"]]
    for modality in ("text", "image", "price"):
        out[f"{modality}_weight"] = [round(w[modality], 3) for w in queue["modality_weights"]]
    out["model_version"] = queue["model_version"]
    out["run_date"] = night.isoformat()
    out[DECISION] = ""
    return out[COLUMNS]


def export_review(settings: Settings, night: dt.date, path: str | None = None) -> dict[str, Any]:
    lake = Lake.from_settings(settings)
    require_night(lake, night, table="classifications")
    queue = review_queue(lake, night)
    text = queue.select_dtypes(include="object").columns
    queue[text] = queue[text].map(neutralise)
    target = Path(path or f"review-{night.isoformat()}.csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    queue.to_csv(target, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return {"night": night.isoformat(), "file": str(target), "products": len(queue)}


def _decisions(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ReviewFileError(f"{path}: the review file is empty; export a queue with "
                              "`catalog-ml review export` and fill its "
                              f"'{DECISION}' column") from None
    except UnicodeDecodeError as exc:
        raise ReviewFileError(f"{path}: the review file is not UTF-8 text ({exc.reason}, "
                              f"byte 0x{exc.object[exc.start]:02x}); save it as 'CSV UTF-8'"
                              ) from None
    except (OSError, pd.errors.ParserError) as exc:
        raise ReviewFileError(f"{path}: cannot read the review file: {exc}") from exc
    missing = {"product_id", DECISION} - set(frame.columns)
    if missing:
        raise ReviewFileError(f"{path}: missing column(s) {sorted(missing)}; export a queue "
                              "with `catalog-ml review export` and fill its "
                              f"'{DECISION}' column")
    frame["row"] = frame.index + 2  # the spreadsheet's row number (the header is row 1)
    for column in ("product_id", DECISION):
        frame[column] = frame[column].map(restore)
    return frame[frame[DECISION].str.strip() != ""]


def _problem(category: str | None, raw: str, taxonomy: frozenset[str], max_depth: int,
             allow_new: bool) -> str | None:
    if not category:
        return f"{DECISION} {raw!r} is not a category path like 'A > B > C'"
    problem = path_problem(category, max_depth)
    if problem is None and not allow_new:
        problem = unknown_problem(category, taxonomy)
    return f"{DECISION} {raw!r}: {problem}" if problem else None


def import_review(settings: Settings, path: str, today: dt.date | None = None,
                  allow_new_categories: bool | None = None) -> dict[str, Any]:
    lake = Lake.from_settings(settings)
    lake.require()
    allow_new = settings.allow_new_categories if allow_new_categories is None \
        else allow_new_categories
    decided = _decisions(Path(path))
    products = lake.read("products", columns=["product_id", "content_hash"]).to_pandas()
    hashes = dict(zip(products["product_id"], products["content_hash"], strict=True))
    taxonomy = known_categories(lake, with_champion=True)
    problems = []
    for row in decided.itertuples():
        raw = getattr(row, DECISION)
        category = normalise_category(raw.strip())
        if row.product_id not in hashes:
            problems.append(f"row {row.row}: product_id {row.product_id[:80]!r} is not in the "
                            "catalog")
            continue
        problem = _problem(category, raw[:120], taxonomy, settings.max_category_depth,
                           allow_new)
        if problem:
            problems.append(f"row {row.row}: {problem}")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise ReviewFileError(f"{path}: nothing imported; {len(problems)} bad row(s):\n  "
                              + "\n  ".join(shown)
                              + (f"\n  ... and {more} more" if more else ""))
    if decided["product_id"].duplicated().any():
        twice = decided[decided["product_id"].duplicated(keep=False)]["row"].tolist()
        raise ReviewFileError(f"{path}: nothing imported; a product is decided twice (rows "
                              f"{twice[:MAX_PROBLEMS_SHOWN]})")
    day = today or dt.date.today()
    now = dt.datetime.now(dt.UTC)
    labels = pa.Table.from_pylist(
        [{"product_id": r.product_id, "category": normalise_category(getattr(r, DECISION)),
          "source": "review", "dump_date": day, "content_hash": hashes[r.product_id],
          "labelled_at": now} for r in decided.itertuples()], schema=LABELS.schema)
    if labels.num_rows:
        with lake.writer(f"review import {path}"):
            lake.upsert("labels", labels)
    log.info("review: %d decisions imported from %s", labels.num_rows, path)
    return {"file": str(path), "imported": labels.num_rows,
            "labels_version": lake.version("labels")}
