"""catalog_ml.reports.quality: drift, reasons and category changes from hand-made nights."""

import pandas as pd
import pytest

from catalog_ml.reports.quality import category_changes, js_divergence, quality
from tests.unit.reports.nights import data


def test_drift_is_zero_for_the_same_mix_and_grows_as_it_moves():
    mix = pd.Series(["a"] * 50 + ["b"] * 50)
    assert js_divergence(mix, mix) == 0
    some = js_divergence(pd.Series(["a"] * 70 + ["b"] * 30), mix)
    more = js_divergence(pd.Series(["a"] * 95 + ["c"] * 5), mix)
    assert 0 < some < more <= 1
    assert js_divergence(pd.Series(["x"]), pd.Series(["y"])) == pytest.approx(1.0)


def test_quality_counts_rows_reasons_shares_and_changes():
    before = [{"product_id": "a", "category": "Home > Lamp"},
              {"product_id": "b", "category": "Home > Lamp"}]
    tonight = [{"product_id": "a", "category": "Home > Rug", "image": "a.jpg", "price": 3.0},
               {"product_id": "b", "category": "Home > Lamp", "description": "x"}]
    night_data = data(tonight, before, quarantine=[["price: must be >= 0 ('-1')"],
                                                   ["price: must be >= 0 ('-2')"]])
    changes = category_changes(night_data)
    assert changes[["product_id", "previous_category", "category"]].values.tolist() == [
        ["a", "Home > Lamp", "Home > Rug"]]
    figures = quality(night_data, changes)
    assert figures["rows_received"] == 4 and figures["quarantined"] == 2
    assert figures["quarantine_reasons"] == [{"reason": "price: must be >= 0", "count": 2}]
    assert figures["share_with_image"] == figures["share_with_price"] == 0.5
    assert figures["category_changes"] == 1 and figures["category_drift"] > 0
    first = quality(data(tonight), category_changes(data(tonight)))
    assert first["category_drift"] is None and first["previous_night"] is None
