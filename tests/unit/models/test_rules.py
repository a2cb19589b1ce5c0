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
    ("title", "(a+)+$", "Other > Gift Cards", "exponential"),
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
