"""Text a dump holds that is not Unicode the lake can store.

A CSV exported in Windows-1252 has bytes that are not UTF-8 (``café`` as ``caf\\xe9``), and a
JSON line may escape half of a surrogate pair (``"\\ud800"``). Python reads the first (with
``errors="surrogateescape"``) and parses the second into a string holding a lone surrogate,
which Arrow, Delta and a UTF-8 terminal all refuse to encode. So such a record is malformed,
with the field and the byte named, and the rest of the dump goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")
ESCAPED_BYTES = range(0xDC80, 0xDD00)  # surrogateescape's stand-ins for bytes 0x80-0xff


def unstorable(text: str) -> str | None:
    """Where and why ``text`` cannot be encoded as UTF-8, or None when it can."""
    found = SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if code in ESCAPED_BYTES:
        return f"byte 0x{code - 0xDC00:02x} at character {found.start() + 1} is not UTF-8"
    return f"a lone surrogate U+{code:04X} at character {found.start() + 1}"


def first_unstorable(pairs: Iterable[tuple[str, Any]]) -> tuple[str, bool, str] | None:
    """The first (name, whether the name itself is at fault, detail) of a record's (column
    name, value) pairs that cannot be stored; None when all can."""
    for name, value in pairs:
        if (detail := unstorable(name)) is not None:
            return name, True, detail
        if isinstance(value, str) and (detail := unstorable(value)) is not None:
            return name, False, detail
    return None


def not_unicode_reason(pairs: Iterable[tuple[str, Any]]) -> str | None:
    """Why a record (its column names and values) cannot be stored, or None when it can."""
    found = first_unstorable(pairs)
    if found is None:
        return None
    name, in_name, detail = found
    where = "a column name" if in_name else f"field {shown(name)!r}"
    return f"record: {where} is not UTF-8 text ({detail}); export the file as UTF-8"


def record_texts(value: Any, name: str = "") -> list[tuple[str, Any]]:
    """Every (key, value) of a JSON record, nested ones included (a nested key with None)."""
    if isinstance(value, dict):
        return [pair for key, inner in value.items()
                for pair in [(str(key), None), *record_texts(inner, str(key))]]
    if isinstance(value, list):
        return [pair for inner in value for pair in record_texts(inner, name)]
    return [(name, value)]


def shown(text: str) -> str:
    """The text with every unstorable character written as an escape (``\\xe9``, ``\\ud800``):
    what the quarantine keeps of a record that is not UTF-8."""
    if SURROGATE.search(text) is None:
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
