"""Report figures from hand-made nights: inventory deltas, price anomalies, drift, changes."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from catalog_ml.reports import charts
from catalog_ml.reports.inventory import inventory
from catalog_ml.reports.night_data import NightData
from catalog_ml.reports.pricing import price_anomalies, price_summary
from catalog_ml.reports.quality import category_changes, js_divergence, quality

NIGHT, BEFORE = dt.date(2026, 11, 2), dt.date(2026, 11, 1)


def night(rows: list[dict], when: dt.date = NIGHT) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(rows)
    for column, default in (("content_hash", "h"), ("confidence", 0.9), ("needs_review", False),
                            ("model_version", "m1"), ("price", np.nan), ("currency", None),
                            ("image", None), ("image_uri", None), ("description", None),
                            ("title", "t")):
        if column not in frame:
            frame[column] = default
        elif default is not None and not (isinstance(default, float) and math.isnan(default)):
            frame[column] = frame[column].where(frame[column].notna(), default)
    snapshot = frame[["product_id", "content_hash", "title", "description", "price", "currency",
                      "image", "image_uri"]]
    return frame, snapshot


def data(tonight: list[dict], before: list[dict] | None = None,
         quarantine: list[list[str]] | None = None) -> NightData:
    classified, snapshot = night(tonight)
    previous, previous_snapshot = night(before or [], BEFORE) if before else (
        classified.iloc[:0], snapshot.iloc[:0])
    return NightData(NIGHT, BEFORE if before else None, classified, snapshot,
                     pd.DataFrame({"reasons": quarantine or []}), previous, previous_snapshot)


def test_inventory_counts_new_changed_removed_and_review_per_level():
    before = [{"product_id": "a", "category": "Home > Lamp"},
              {"product_id": "b", "category": "Home > Lamp"},
              {"product_id": "gone", "category": "Home > Rug"}]
    tonight = [{"product_id": "a", "category": "Home > Lamp"},
               {"product_id": "b", "category": "Home > Lamp", "content_hash": "h2",
                "needs_review": True},
               {"product_id": "new", "category": "Garden > Hose"}]
    table = inventory(data(tonight, before)).set_index(["level", "category"])
    assert table.loc[(1, "Home")].to_dict() | {} == {
        "products": 2, "new": 0, "changed": 1, "removed": 1, "needs_review": 1,
        "needs_review_share": 0.5}
    assert table.loc[(2, "Home > Rug"), "removed"] == 1
    assert table.loc[(2, "Home > Rug"), "products"] == 0
    assert table.loc[(1, "Garden"), "new"] == 1
    level_one = table.loc[1]
    assert level_one["products"].sum() == len(tonight)


def test_the_first_night_counts_everything_as_new():
    table = inventory(data([{"product_id": "a", "category": "Home > Lamp"}]))
    assert table["new"].tolist() == [1, 1] and table["removed"].sum() == 0


def priced_night(factor: float = 1.0) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = [{"product_id": f"lamp-{i}", "category": "Home > Lamp", "currency": "EUR",
             "price": float(40 * rng.lognormal(0, 0.2))} for i in range(30)]
    rows += [{"product_id": f"sofa-{i}", "category": "Home > Sofa", "currency": "EUR",
              "price": float(900 * rng.lognormal(0, 0.2))} for i in range(30)]
    rows[3]["price"] *= factor
    return rows


def test_a_price_a_hundred_times_too_high_is_flagged_with_a_reason():
    assert price_anomalies(data(priced_night())).empty  # ordinary spread: nothing flagged
    anomalies = price_anomalies(data(priced_night(100.0)))
    assert anomalies["product_id"].tolist() == ["lamp-3"]
    flagged = anomalies.iloc[0]
    assert flagged["score"] > 3.5 and flagged["ratio"] > 50
    assert "Home > Lamp" in flagged["reason"] and "median" in flagged["reason"]


def test_a_small_category_is_judged_against_its_parent():
    rows = [r for r in priced_night() if r["category"] == "Home > Lamp"] + [
        {"product_id": "shade", "category": "Home > Lampshade", "currency": "EUR",
         "price": 45.0},
        {"product_id": "odd", "category": "Home > Lampshade", "currency": "EUR",
         "price": 4_000.0}]
    flagged = price_anomalies(data(rows)).set_index("product_id")
    assert flagged.loc["odd", "reference_category"] == "Home"


def test_a_dear_small_category_under_a_cheap_parent_is_not_flagged():
    rows = [r for r in priced_night() if r["category"] == "Home > Lamp"] + [
        {"product_id": f"chandelier-{i}", "category": "Home > Chandelier", "currency": "EUR",
         "price": 4000.0 + 100 * i} for i in range(3)]
    assert price_anomalies(data(rows)).empty
    rows[-1]["price"] = 400_000.0  # but a hundredfold chandelier still is
    assert price_anomalies(data(rows))["product_id"].tolist() == ["chandelier-2"]


def test_price_summary_has_quartiles_per_category_and_level():
    rows = priced_night(100.0)
    summary = price_summary(data(rows), price_anomalies(data(rows)))
    lamp = summary[(summary["category"] == "Home > Lamp")].iloc[0]
    prices = pd.Series([r["price"] for r in rows if r["category"] == "Home > Lamp"])
    assert lamp["priced"] == 30 and lamp["median"] == pytest.approx(prices.median())
    assert lamp["q1"] <= lamp["median"] <= lamp["q3"] and lamp["anomalies"] == 1
    assert summary[summary["level"] == 1]["priced"].sum() == 60


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


def test_charts_are_inline_svg_and_survive_odd_labels():
    svg = charts.bar_chart(["<b>&", "x"], {"n": [1, 0]}, "bars")
    assert svg.startswith("<svg") and "&lt;b&gt;&amp;" in svg
    assert "<svg" in charts.histogram([0.1, 0.5, math.nan], "h", marker=0.4)
    assert "<svg" in charts.box_plot([("c", 1, 2, 3, 4, 50, 9)], "b")
    assert charts.heatmap(["a", "b"], [[3, 1], [0, 2]], "m").count("<rect") == 4
