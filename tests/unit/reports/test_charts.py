"""catalog_ml.reports.charts: inline SVG charts."""

import datetime as dt
import math

from catalog_ml.reports import charts

NIGHT, BEFORE = dt.date(2026, 11, 2), dt.date(2026, 11, 1)


def test_charts_are_inline_svg_and_survive_odd_labels():
    svg = charts.bar_chart(["<b>&", "x"], {"n": [1, 0]}, "bars")
    assert svg.startswith("<svg") and "&lt;b&gt;&amp;" in svg
    assert "<svg" in charts.histogram([0.1, 0.5, math.nan], "h", marker=0.4)
    assert "<svg" in charts.box_plot([("c", 1, 2, 3, 4, 50, 9)], "b")
    assert charts.heatmap(["a", "b"], [[3, 1], [0, 2]], "m").count("<rect") == 4
