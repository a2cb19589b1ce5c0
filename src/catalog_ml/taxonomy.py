"""Category paths ('Apparel > Topwear > Tshirts'): their normal form and what makes one valid.

A label decides what the model learns, so a label is checked before it is stored: a path in
the normal form, not deeper than ``max_category_depth``, no level that a spreadsheet would run
as a formula, and, once the lake has a taxonomy, one of its categories unless new categories
are allowed explicitly. A typo such as 'Tshirtz' would otherwise become a class of its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

SEPARATOR = " > "
FORMULA_START = ("=", "+", "@", "-")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_category(path: str | None) -> str | None:
    if path is None:
        return None
    return SEPARATOR.join(part.strip() for part in path.split(">"))


def levels(path: str) -> list[str]:
    return path.split(SEPARATOR)


def path_problem(path: str, max_depth: int) -> str | None:
    """What is wrong with a normalised path, or None; the text reads after 'category: '."""
    parts = levels(path)
    if any(part == "" for part in parts):
        return "an empty level; write a path like 'Level1 > Level2'"
    if len(parts) > max_depth:
        return (f"{len(parts)} levels, deeper than max_category_depth {max_depth} "
                "(setting max_category_depth)")
    if _CONTROL.search(path):
        return "holds a control character"
    if any(part.startswith(FORMULA_START[:3]) for part in parts):
        return "a level starts with '=', '+' or '@' (a spreadsheet formula)"
    return None


def unknown_problem(path: str, taxonomy: Collection[str]) -> str | None:
    """None when the lake has no taxonomy yet or knows ``path``; otherwise why it is refused,
    with the nearest known categories as a hint."""
    if not taxonomy or path in taxonomy:
        return None
    nearest = difflib.get_close_matches(path, list(taxonomy), n=2, cutoff=0.75)
    hint = f"; nearest: {' or '.join(repr(n) for n in nearest)}" if nearest else ""
    count = f"{len(taxonomy)} categor{'y' if len(taxonomy) == 1 else 'ies'}"
    return (f"not in the lake's taxonomy ({count}{hint}); a new category "
            "needs --allow-new-categories (setting allow_new_categories)")


def truncate(path: str, level: int) -> str:
    return SEPARATOR.join(levels(path)[:level])


def depth(paths: list[str]) -> int:
    return max((len(levels(p)) for p in paths), default=0)
