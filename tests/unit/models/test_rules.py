"""Analyst rules: checked like labels, stored in the lake, the highest priority wins."""

from __future__ import annotations

import pytest

from catalog_ml.lake import Lake
from catalog_ml.models.rules import RuleBook, RuleError, add_rule, load_rules, remove_rule

TAXONOMY = {"Other > Gift Cards", "Apparel > Topwear > Tshirts", "Accessories > Bags"}


def test_a_rule_is_stored_and_the_highest_priority_match_decides(tmp_path):
    lake = Lake(str(tmp_path))
    low = add_rule(lake, "title", r"gift ?card", "Other > Gift Cards", 1, "ana", TAXONOMY)
    high = add_rule(lake, "any", r"\btote\b", "Accessories > Bags", 5, "bo", TAXONOMY)
    rules = load_rules(lake)
    assert [r.rule_id for r in rules] == [high.rule_id, low.rule_id]
    book = RuleBook(rules)
    assert book.decide("Birthday GiftCard 50", None, None).rule_id == low.rule_id
    assert book.decide("Gift card tote", None, None).rule_id == high.rule_id  # priority
    assert book.decide("Canvas", None, '{"style": "Tote"}').rule_id == high.rule_id
    assert book.decide("Red t-shirt", "Acme", None) is None
    remove_rule(lake, high.rule_id)
    assert [r.rule_id for r in load_rules(lake)] == [low.rule_id]


@pytest.mark.parametrize(("field", "pattern", "category", "says"), [
    ("colour", "x", "Other > Gift Cards", "rule field"),
    ("title", r"(gift)\1", "Other > Gift Cards", "back-references"),
    ("title", "gift(?= card)", "Other > Gift Cards", "RE2 runs"),
    ("title", "[unclosed", "Other > Gift Cards", "not a regular expression"),
    ("title", "x" * 301, "Other > Gift Cards", "1 to 300"),
    ("title", "card", "Other > Gift Cardz", "nearest: 'Other > Gift Cards'"),
    ("title", "card", "=HYPERLINK(1)", "formula"),
])
def test_a_bad_rule_is_refused_with_the_reason(tmp_path, field, pattern, category, says):
    with pytest.raises(RuleError, match=says):
        add_rule(Lake(str(tmp_path)), field, pattern, category, taxonomy=TAXONOMY)


def test_removing_an_unknown_rule_names_it(tmp_path):
    with pytest.raises(RuleError, match="no rule 'rule-nope'"):
        remove_rule(Lake(str(tmp_path)), "rule-nope")


def test_patterns_that_backtrack_for_ever_in_python_re_answer_at_once(tmp_path):
    """RE2 is linear in the text: Python's re took 10 s for (a|a)*b on 26 letters and
    doubled with each one more; on a 5,000-letter title these would never end there."""
    lake = Lake(str(tmp_path))
    rules = [add_rule(lake, "title", pattern, "Other > Gift Cards", taxonomy=TAXONOMY)
             for pattern in ("(a+)+$", "(a|a)*b", ".*.*.*.*.*x")]
    book = RuleBook(load_rules(lake))
    assert book.decide("a" * 5000 + "!", None, None) is None
    assert book.decide("a" * 5000 + "b", None, None).rule_id == rules[1].rule_id


def test_matching_ignores_case_beyond_ascii(tmp_path):
    lake = Lake(str(tmp_path))
    rule = add_rule(lake, "brand", "café lumière", "Other > Gift Cards", taxonomy=TAXONOMY)
    assert RuleBook(load_rules(lake)).decide("Mug", "CAFÉ LUMIÈRE", None).rule_id == rule.rule_id


def test_a_stored_rule_re2_cannot_run_is_named_with_what_to_do(tmp_path):
    """A rule an older catalog-ml stored under Python's re (a look-ahead) stops the step
    with the rule's id, rather than being skipped in silence."""
    import datetime as dt

    import pyarrow as pa

    from catalog_ml.lake.tables import RULES

    lake = Lake(str(tmp_path))
    lake.append("rules", pa.Table.from_pylist([{
        "rule_id": "rule-old", "field": "title", "pattern": "gift(?= card)",
        "category": "Other > Gift Cards", "priority": 0, "author": None,
        "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}], schema=RULES.schema))
    with pytest.raises(RuleError, match=r"rule-old: .*look-arounds.*rules remove rule-old"):
        RuleBook(load_rules(lake))
