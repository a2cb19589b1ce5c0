"""The morning report of one night as a single offline HTML page with inline SVG charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from catalog_ml.reports import charts
from catalog_ml.reports.night_data import NightData
from catalog_ml.reports.page import kpis, page, section, table

TOP_CATEGORIES = 25
TOP_PRICED = 20


def _category_mix(data: NightData) -> str:
    tonight = data.classified["category"].value_counts(normalize=True)
    before = data.previous_classified["category"].value_counts(normalize=True)
    top = tonight.head(TOP_CATEGORIES).index.tolist()
    series: dict[str, Sequence[float]] = {
        "tonight": [float(tonight.get(c, 0.0)) for c in top]}
    if len(before):
        series["previous night"] = [float(before.get(c, 0.0)) for c in top]
    return charts.bar_chart(top, series, "share of products per category",
                            value_format="{:.1%}")


def _drift(data: NightData, quality: dict[str, Any]) -> str:
    if quality["category_drift"] is None:
        before = quality["previous_night"]
        return ("<p class='note'>No previous night to compare with.</p>" if before is None else
                f"<p class='note'>The previous night ({before}) has no classifications to "
                "compare with.</p>")
    tonight = data.classified["category"].value_counts(normalize=True)
    before = data.previous_classified["category"].value_counts(normalize=True)
    tonight, before = tonight.align(before, fill_value=0.0)
    moved = (tonight - before).sort_values(key=abs, ascending=False).head(15)
    moved = moved[moved != 0]
    chart = charts.bar_chart([f"{c} ({d:+.1%})" for c, d in moved.items()],
                             {"|share change|": moved.abs().tolist()},
                             "categories whose share moved most", value_format="{:.1%}") \
        if len(moved) else "<p class='note'>The category mix is the same as last night.</p>"
    return kpis({"Jensen-Shannon divergence": quality["category_drift"],
                 "products whose category changed": quality["category_changes"]}) + chart


def _prices(pricing: pd.DataFrame) -> str:
    if pricing.empty:
        return "<p class='note'>No priced products tonight.</p>"
    leaf = pricing[pricing["level"] == pricing["level"].max()]
    currency = leaf.groupby("currency")["priced"].sum().idxmax()
    rows = leaf[leaf["currency"] == currency].sort_values("priced", ascending=False)
    rows = rows.head(TOP_PRICED)
    return (f"<p class='note'>Currency {currency}, the {len(rows)} categories with most "
            "priced products; log scale.</p>"
            + charts.box_plot([(r.category, r.min, r.q1, r.median, r.q3, r.max, r.priced)
                               for r in rows.itertuples()], "price per category"))


def night_html(data: NightData, quality: dict[str, Any], inventory: pd.DataFrame,
               pricing: pd.DataFrame, anomalies: pd.DataFrame, changes: pd.DataFrame,
               review_threshold: float | None) -> str:
    night = data.night.isoformat()
    reasons = quality["quarantine_reasons"]
    confidences = data.classified["confidence"].astype(float).tolist()
    sections = [
        kpis({"rows received": quality["rows_received"], "quarantined": quality["quarantined"],
              "classified": quality["classified"],
              "mean confidence": quality["mean_confidence"],
              "needs review": quality["needs_review_share"],
              "with image": quality["share_with_image"],
              "with price": quality["share_with_price"],
              "price anomalies": len(anomalies)}),
        section("Category distribution", _category_mix(data)),
        section("Drift since the previous night", _drift(data, quality),
                note=f"previous night: {quality['previous_night'] or 'none'}"),
        section("Prices per category", _prices(pricing)),
        section("Confidence", charts.histogram(
            confidences, "confidence histogram", marker=review_threshold,
            marker_label="review threshold")),
        section("Quarantine reasons", charts.bar_chart(
            [r["reason"] for r in reasons], {"rows": [r["count"] for r in reasons]},
            "quarantined rows per reason", value_format="{:.0f}") if reasons
            else "<p class='note'>No row was quarantined.</p>"),
        section("Price anomalies", table(
            ["product", "category", "price", "currency", "score", "reason"],
            [[a.product_id, a.category, a.price, a.currency, round(a.score, 1), a.reason]
             for a in anomalies.sort_values("score", key=abs, ascending=False).itertuples()],
            limit=50)),
        section("Category changes", table(
            ["product", "previous", "now", "confidence", "content changed"],
            [[c.product_id, c.previous_category, c.category, round(c.confidence, 3),
              c.content_changed] for c in changes.itertuples()], limit=50)),
        section("Inventory (top two levels)", table(
            ["level", "category", "products", "new", "changed", "removed", "needs review"],
            [[r.level, r.category, r.products, r.new, r.changed, r.removed, r.needs_review]
             for r in inventory[inventory["level"] <= 2].itertuples()])),
    ]
    return page(f"catalog-ml — night of {night}", sections,
                subtitle=f"models: {', '.join(quality['model_versions']) or 'none'}")
