"""catalog_ml.validation.gate_page: the kept record of a night's gate, offline."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from catalog_ml.lake import Lake
from catalog_ml.validation.gate_page import render_html, save_gate_failure, save_report
from catalog_ml.validation.validate import ValidationOutcome

NIGHT = dt.date(2026, 11, 2)


def _outcome() -> ValidationOutcome:
    rejected = pd.DataFrame({"product_id": ["<x>"], "reasons": [["title: empty <b>"]]})
    expectations = [
        {"field": "title", "rule": "not_null", "expectation": "expect <values>",
         "success": False, "unexpected_count": 1},
        {"field": "product_id", "rule": "unique", "expectation": "unique ids",
         "success": True, "unexpected_count": 0}]
    return ValidationOutcome(NIGHT, "products.csv", 4, pd.DataFrame({"product_id": list("abc")}),
                             rejected, expectations, {"success": False})


def test_the_page_shows_each_expectation_and_reason_escaped():
    html = render_html(_outcome())
    assert "night 2026-11-02" in html and "Rows received: 4" in html and "(25.0%)" in html
    assert "FAIL" in html and "pass" in html
    assert "expect &lt;values&gt;" in html and "title: empty &lt;b&gt;" in html
    assert "<script" not in html


def test_the_record_and_a_gate_failure_are_kept_in_the_lake(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    page = save_report(lake, _outcome())
    assert page.endswith("validation/2026-11-02/report.html")
    result = json.loads(lake.read_file("validation/2026-11-02/gx_result.json"))
    assert result == {"success": False}
    save_gate_failure(lake, "2026-11-03", "required column 'title' is missing")
    failure = json.loads(lake.read_file("validation/2026-11-03/gate_failure.json"))
    assert failure["success"] is False and "'title'" in failure["error"]
