"""catalog_ml.validation.reasons: quarantine reasons counted by kind, without their values."""

from __future__ import annotations

import pandas as pd

from catalog_ml.validation.reasons import reason_counts


def test_reasons_are_counted_by_field_and_rule_not_by_quoted_value():
    rejected = pd.DataFrame({"reasons": [
        ["price: not a number ('cheap')", "currency: missing"],
        ["price: not a number ('12,50')"],
        [],
    ]})
    assert reason_counts(rejected) == {"price: not a number": 2, "currency: missing": 1}
