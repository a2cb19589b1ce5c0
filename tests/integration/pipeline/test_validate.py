"""catalog_ml.pipeline.validate: the gate's record of a real night, and its quarantined rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import BROKEN_FIELDS, NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_each_broken_row_is_quarantined_with_a_reason_naming_its_field(classified_lake):
    quarantined = classified_lake.lake.read("quarantine", where={"dump_date": NIGHT}).to_pandas()
    assert len(quarantined) == len(BROKEN_FIELDS)
    by_row = quarantined.sort_values("source_row")
    for reasons, field in zip(by_row["reasons"], BROKEN_FIELDS, strict=True):
        assert any(r.startswith(f"{field}:") for r in reasons), (field, reasons)
    assert all(r for r in by_row["raw_record"])


def test_the_gate_keeps_its_result_and_page_beside_the_lake(classified_lake):
    validated = classified_lake.outcome["validate"]
    page = Path(validated.validation_report)
    assert page.exists() and page.with_name("gx_result.json").exists()
    assert validated.rejected == len(BROKEN_FIELDS) and validated.accepted > 0
    assert "FAIL" in page.read_text()  # the broken rows' expectations did not all pass
