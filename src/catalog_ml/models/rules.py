"""Analyst rules: a pattern over a product's title, brand or attributes that decides its
category before the model does ("anything titled 'gift card' is Other > Gift Cards").

Rules live in the lake's ``rules`` table and are applied by the one prediction path
(``classification_columns``), so the night and the API agree. The highest ``priority``
matching rule wins (then the oldest); its id goes to ``decided_by`` and its answer is certain
(confidence 1, no review). The model's own top-k stays in the row, so the rule can be checked.
A pattern is a case-insensitive regular expression, at most ``MAX_PATTERN`` characters, run by
RE2 (``google-re2``): its time is linear in the text whatever the pattern, where Python's
``re`` took 10 s for ``(a|a)*b`` on 26 letters and doubled with each one more (a pattern check
cannot catch every such pattern: ``(a|a)*``, ``.*.*.*x`` slip past any list of bad shapes).
RE2 has no look-arounds or back-references, and its ``\\b`` and ``\\w`` are ASCII.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import re2

from catalog_ml.errors import ConfigError
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import RULES
from catalog_ml.taxonomy import normalise_category, path_problem, unknown_problem

FIELDS = ("title", "brand", "attributes", "any")
MAX_PATTERN = 300


class RuleError(ConfigError):
    """A rule that cannot be stored: the message names the field and why."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    field: str
    pattern: str
    category: str
    priority: int
    author: str | None
    created_at: dt.datetime

    def compiled(self) -> Any:
        try:
            return check_pattern(self.pattern)
        except RuleError as exc:  # stored by an older catalog-ml, under Python's re
            raise RuleError(f"{self.rule_id}: {exc}; `catalog-ml rules remove "
                            f"{self.rule_id}`, then add it again in RE2 syntax") from None


def check_pattern(pattern: str) -> Any:
    """The pattern compiled by RE2 (case-insensitive); RuleError naming what is wrong."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise RuleError(f"rule pattern: 1 to {MAX_PATTERN} characters, got {len(pattern)}")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error is ours to report, not absl's on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RuleError(f"rule pattern {pattern!r} is not a regular expression RE2 runs "
                        f"({detail}; no look-arounds or back-references)") from None


def load_rules(lake: Lake) -> list[Rule]:
    """The lake's rules, the winner first: highest priority, then the oldest."""
    if not lake.exists("rules"):
        return []
    rules = [Rule(**row) for row in lake.read("rules").to_pylist()]
    return sorted(rules, key=lambda r: (-r.priority, r.created_at, r.rule_id))


def add_rule(lake: Lake, field: str, pattern: str, category: str, priority: int = 0,
             author: str | None = None, taxonomy: Collection[str] = (),
             max_depth: int = 8, allow_new_categories: bool = False) -> Rule:
    """Store a rule after checking it as a label is checked (path, taxonomy)."""
    if field not in FIELDS:
        raise RuleError(f"rule field {field!r}: one of {', '.join(FIELDS)}")
    check_pattern(pattern)
    path = normalise_category(category) or ""
    problem = path_problem(path, max_depth) or (
        None if allow_new_categories else unknown_problem(path, taxonomy))
    if problem:
        raise RuleError(f"rule category {category!r}: {problem}")
    rule = Rule(f"rule-{uuid.uuid4().hex[:10]}", field, pattern, path, int(priority),
                author, dt.datetime.now(dt.UTC))
    with lake.writer("rules add"):
        lake.append("rules", pa.Table.from_pylist([rule.__dict__], schema=RULES.schema))
    return rule


def remove_rule(lake: Lake, rule_id: str) -> None:
    if rule_id not in {r.rule_id for r in load_rules(lake)}:
        raise RuleError(f"no rule {rule_id!r}; `catalog-ml rules list` shows them")
    with lake.writer("rules remove"):
        lake.delete("rules", {"rule_id": rule_id})


class RuleBook:
    """The rules compiled once, applied to rows of text columns."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = [(rule, rule.compiled()) for rule in rules]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def decide(self, title: Any, brand: Any, attributes: Any) -> Rule | None:
        texts = {"title": _text(title), "brand": _text(brand), "attributes": _text(attributes)}
        texts["any"] = " ".join(t for t in texts.values() if t)
        for rule, compiled in self.rules:
            if compiled.search(texts[rule.field]):
                return rule
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
