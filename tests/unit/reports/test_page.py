"""catalog_ml.reports.page: self-contained HTML with everything escaped."""

from __future__ import annotations

from catalog_ml.reports.page import kpis, page, section, table


def test_a_page_escapes_every_text_it_is_given_and_needs_no_network():
    html = page("<b>Night</b>", [section("A & B", kpis({"<k>": 0.123456}), note="n<1>")],
                subtitle="models: <m1>")
    assert "<b>Night</b>" not in html and "&lt;b&gt;Night&lt;/b&gt;" in html
    assert "A &amp; B" in html and "&lt;k&gt;" in html and "0.1235" in html
    assert "<script" not in html and "http" not in html


def test_a_table_aligns_numbers_and_says_how_many_rows_it_left_out():
    html = table(["name", "n"], [["=cmd()", 1], ["b", 2], ["c", 3]], limit=2)
    assert html.count("<tr>") == 3  # the header and two rows
    assert "<td class='t'>=cmd()</td><td>1</td>" in html
    assert "1 more rows not shown" in html
