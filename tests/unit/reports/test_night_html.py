"""catalog_ml.reports.night_html: the night's offline page from its figures."""

from __future__ import annotations

from catalog_ml.reports.inventory import inventory
from catalog_ml.reports.night_html import night_html
from catalog_ml.reports.pricing import price_anomalies, price_summary
from catalog_ml.reports.quality import category_changes, quality
from tests.unit.reports.nights import data


def test_the_page_shows_the_nights_figures_charts_and_reasons_offline():
    tonight = [{"product_id": f"p{i}", "category": "Home > Lamp" if i % 2 else "Home > <Rug>",
                "price": 10.0 + i, "currency": "EUR", "confidence": 0.5 + i / 40}
               for i in range(20)]
    night = data(tonight, quarantine=[["title: empty"], ["price: negative (-3)"]])
    anomalies = price_anomalies(night)
    changes = category_changes(night)
    figures = quality(night, changes)
    html = night_html(night, figures, inventory(night), price_summary(night, anomalies),
                      anomalies, changes, review_threshold=0.7)
    assert "night of 2026-11-02" in html
    assert html.count("<svg") >= 3 and "<script" not in html
    assert "Home &gt; &lt;Rug&gt;" in html and "<Rug>" not in html
    assert "title: empty" in html and "review threshold" in html
