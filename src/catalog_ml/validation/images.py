"""Checking the image a row points at: inside the dump folder, present, decodable, and within
the byte and pixel limits; or, for a URL, on an allowed host.

Done once at validation so a broken image is reported with its row; the state goes to Great
Expectations as a column, and the file's digest feeds the content hash so that a replaced
photo under the same name counts as changed content. A tiny file can declare billions of
pixels (a decompression bomb): the header is read first and such a photo is a broken row.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import UnidentifiedImageError

from catalog_ml.features.remote import (
    DEFAULT_LIMITS,
    ImageLimits,
    PhotoTooLarge,
    open_photo,
    url_problem,
)
from catalog_ml.validation.landing import DumpFolder

REMOTE = re.compile(r"^(?:https?|s3)://", re.IGNORECASE)
OK_STATES = ("ok", "remote", "unchecked")


@dataclass(frozen=True)
class ImageCheck:
    # ok | remote | unchecked | missing | corrupt | outside | invalid | too_large | refused
    state: str
    uri: str | None
    digest: str | None
    detail: str = ""


def check_image(folder: DumpFolder, reference: str | None, verify: bool = True,
                limits: ImageLimits = DEFAULT_LIMITS, root: Path | None = None
                ) -> ImageCheck | None:
    """None when the row has no image; otherwise the state of the file it names. ``root``:
    a local dump folder, resolved once for all its rows."""
    if reference is None:
        return None
    if REMOTE.match(reference):
        if reference.lower().startswith("s3://"):
            return ImageCheck("remote", reference, None)
        problem = url_problem(reference, limits.fetch)
        if problem:
            return ImageCheck("refused", None, None, problem)
        return ImageCheck("remote", reference, None)
    if folder.is_local and root is None:
        root = folder.path.resolve()
    located = _locate(folder, reference, root)
    if isinstance(located, ImageCheck):
        return located
    uri, relative, target = located
    if not verify:
        return ImageCheck("unchecked", uri, None)
    try:
        size = _size(folder, relative, target)
        if size is None:
            return ImageCheck("missing", None, None, "file not found")
        if size > limits.max_bytes:
            return ImageCheck("too_large", None, None,
                              f"{size:,} bytes, above max_image_bytes {limits.max_bytes:,}")
        payload = target.read_bytes() if target is not None else folder.read_bytes(relative)
        with open_photo(payload, limits.max_pixels) as image:
            image.verify()  # structure: headers, chunk checksums
        with open_photo(payload, limits.max_pixels) as image:
            image.draft("RGB", (64, 64))  # JPEG decodes at 1/8 size: cheap
            image.load()  # the pixels themselves: catches truncated files
    except PhotoTooLarge as exc:
        return ImageCheck("too_large", None, None, str(exc))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return ImageCheck("corrupt", None, None, f"not a readable image ({type(exc).__name__})")
    return ImageCheck("ok", uri, hashlib.sha256(payload).hexdigest())


def _locate(folder: DumpFolder, reference: str, root: Path | None
            ) -> tuple[str, str, Path | None] | ImageCheck:
    """The photo's URI, its path inside the folder and (local dumps) the file; or the check
    that refuses it."""
    if root is not None:
        try:
            target = (root / reference).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            return ImageCheck("invalid", None, None, str(exc))
        if not target.is_relative_to(root):
            return ImageCheck("outside", None, None, "resolves outside the dump folder")
        return target.as_uri(), str(target.relative_to(root)), target
    relative = folder.inside(reference)
    if relative is None:
        return ImageCheck("outside", None, None, "resolves outside the dump folder")
    return folder.uri(relative), relative, None


def _size(folder: DumpFolder, relative: str, target: Path | None) -> int | None:
    if target is not None:
        return target.stat().st_size if target.is_file() else None
    try:
        size = folder.size(relative)
    except FileNotFoundError:
        return None
    return size if size is not None and size >= 0 else None


def check_images(
    folder: DumpFolder, references: list[str | None], verify: bool = True,
    threads: int | None = None, limits: ImageLimits = DEFAULT_LIMITS,
) -> list[ImageCheck | None]:
    """Every row's check. Local files: one thread per core (decoding holds the GIL part of the
    time; more threads only take turns: 4,305 photos in 1.7 s with 2 threads on 2 cores, 2.2 s
    with 8); an object store: 8, to overlap the requests."""
    root = folder.path.resolve() if folder.is_local else None
    if threads is None:
        threads = min(8, os.cpu_count() or 1) if folder.is_local else 8
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda ref: check_image(folder, ref, verify, limits, root),
                             references))
