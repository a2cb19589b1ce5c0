"""Quarantine reasons counted by kind; light, so the reports need not import the validator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def reason_counts(rejected: Any) -> Counter[str]:
    """Rejected rows per kind of reason: 'field: rule', without the quoted value.

    ``rejected`` has a ``reasons`` column (a list of reasons per row)."""
    rows: Iterable[Iterable[str]] = rejected["reasons"]
    return Counter(reason.split(" (")[0] for reasons in rows for reason in reasons)
