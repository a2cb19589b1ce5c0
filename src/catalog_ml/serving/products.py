"""The products of one API request, made into what a night's dump is: text records with row
numbers, photos checked where they lie, validated by the same suite with the same reasons.

A photo may be a ``data:image/...;base64,`` URI (decoded, within ``max_image_bytes``, into a
scratch folder and checked like a dump's file), an allowed http(s) URL (checked against the
fetch policy), or a path relative to ``api_image_root`` (refused when none is configured).
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from catalog_ml.config import Settings
from catalog_ml.validation.dump import ROW_COLUMN, RawDump, as_text, records_frame
from catalog_ml.validation.images import REMOTE, ImageCheck, ImageLimits, check_image
from catalog_ml.validation.landing import DumpFolder
from catalog_ml.validation.unicode_text import first_unstorable, record_texts, shown
from catalog_ml.validation.validate import ValidationOutcome, validate_raw

DATA_URI = re.compile(r"^data:image/(?P<kind>[a-z0-9.+-]{1,20});base64,(?P<data>.*)$",
                      re.IGNORECASE | re.DOTALL)
INLINE = "inline"


@dataclass
class CheckedRequest:
    outcome: ValidationOutcome
    scratch: tempfile.TemporaryDirectory[str]  # holds inline photos until they are embedded

    def close(self) -> None:
        self.scratch.cleanup()


def _records(products: list[dict[str, Any]]) -> pd.DataFrame:
    """Every value as the text a dump would hold (None when absent), with 1-based rows."""
    rows = []
    for index, product in enumerate(products, start=1):
        row: dict[str, Any] = {str(k).strip(): as_text(v) for k, v in product.items()}
        row[ROW_COLUMN] = index
        rows.append(row)
    return records_frame(rows)


def unicode_problems(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The products holding text that is not UTF-8 (a JSON escape of half a surrogate pair,
    ``"\\ud800"``), one problem each, as the 422 lists them: such text cannot be hashed,
    validated or stored, so it is refused before anything else looks at the request."""
    problems = []
    for index, product in enumerate(products):
        if (found := first_unstorable(record_texts(product))) is None:
            continue
        name, _, detail = found
        product_id = product.get("product_id")
        problems.append({
            "product": index,
            "product_id": shown(product_id) if isinstance(product_id, str) else None,
            "field": shown(name), "reason": f"{shown(name)}: not UTF-8 text ({detail})"})
    return problems


def _inline(reference: str, scratch: Path, limits: ImageLimits) -> tuple[str, ImageCheck | None]:
    """A data URI written into the scratch folder: its relative name there, or the refusal."""
    match = DATA_URI.match(reference)
    if match is None:
        return reference, ImageCheck("invalid", None, None,
                                     "a data URI must be data:image/<type>;base64,<data>")
    if len(match["data"]) * 3 // 4 > limits.max_bytes:
        return INLINE, ImageCheck("too_large", None, None,
                                  f"above max_image_bytes {limits.max_bytes:,}")
    try:
        payload = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        return INLINE, ImageCheck("corrupt", None, None, "not valid base64")
    name = f"{INLINE}/{hashlib.sha256(payload).hexdigest()[:32]}.img"
    (scratch / INLINE).mkdir(exist_ok=True)
    (scratch / name).write_bytes(payload)
    return name, None


def check_request(products: list[dict[str, Any]], settings: Settings,
                  taxonomy: Collection[str]) -> CheckedRequest:
    """Validate the request's products as the night validates a dump (no reject-share gate:
    a request of one bad product is a 422, not a stopped night)."""
    limits = ImageLimits.from_settings(settings)
    scratch = tempfile.TemporaryDirectory(prefix="catalog-ml-request-")
    frame = _records(products)
    if "image" not in frame.columns:
        frame["image"] = None
    root = DumpFolder.at(settings.api_image_root) if settings.api_image_root else None
    inline = DumpFolder.at(scratch.name)
    checks: list[ImageCheck | None] = []
    references: list[str | None] = []
    for reference in frame["image"]:
        if reference is None:
            checks.append(None)
            references.append(None)
        elif reference.lower().startswith("data:"):
            name, refused = _inline(reference, Path(scratch.name), limits)
            references.append(name)
            checks.append(refused or check_image(inline, name, True, limits))
        elif REMOTE.match(reference) and not reference.lower().startswith("s3://"):
            references.append(reference)
            checks.append(check_image(inline, reference, True, limits))
        elif root is None:
            references.append(reference)
            checks.append(ImageCheck("refused", None, None,
                                     "photo paths need the api_image_root setting; send a "
                                     "data: URI or an http(s) URL"))
        else:
            references.append(reference)
            checks.append(check_image(root, reference, True, limits))
    frame["image"] = references
    raw = RawDump(folder=inline, source_file="request", frame=frame)
    try:
        outcome = validate_raw(raw, dt.datetime.now(dt.UTC).date(), settings, taxonomy,
                               image_checks=checks, enforce_reject_share=False)
    except BaseException:
        scratch.cleanup()
        raise
    return CheckedRequest(outcome, scratch)


class ValidatedRecords:
    """Typed rows of products already validated, by their exact record: a product sent again
    as it was gets the same verdict without a validation run. Only products without a photo:
    a photo's file or URL can change behind the same reference."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(product: dict[str, Any], model_version: str | None) -> str | None:
        if product.get("image") is not None:
            return None
        text = json.dumps([model_version, product], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def lookup(self, products: list[dict[str, Any]], model_version: str | None
               ) -> pd.DataFrame | None:
        """The accepted rows of all of ``products``, or None unless every one was seen."""
        keys = [self._key(p, model_version) for p in products]
        ids = [p.get("product_id") for p in products]
        if self.size <= 0 or None in keys or len(set(ids)) != len(ids):
            return None  # a repeated id must meet the uniqueness rule again
        with self._lock:
            rows = [self._rows.get(k) for k in keys if k is not None]
            if any(r is None for r in rows):
                return None
            for key in keys:
                self._rows.move_to_end(key)  # type: ignore[arg-type]
        frame = pd.DataFrame.from_records(rows)
        return frame if len(frame) == len(products) else None

    def remember(self, products: list[dict[str, Any]], accepted: pd.DataFrame,
                 model_version: str | None) -> None:
        if self.size <= 0 or len(accepted) != len(products):
            return
        with self._lock:
            for product, row in zip(products, accepted.to_dict(orient="records"), strict=True):
                key = self._key(product, model_version)
                if key is not None:
                    self._rows[key] = row
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
