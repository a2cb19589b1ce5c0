"""catalog_ml.reports.pricing: price summaries and anomalies from hand-made nights."""

import numpy as np
import pandas as pd
import pytest

from catalog_ml.reports.pricing import price_anomalies, price_summary
from tests.unit.reports.nights import data


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
