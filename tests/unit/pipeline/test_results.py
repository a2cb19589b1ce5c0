"""catalog_ml.pipeline.results: what a step reports, as Airflow and the CLI receive it."""

from __future__ import annotations

import datetime as dt
import json

from catalog_ml.pipeline.results import Classified, Reclassified, Validated


def test_a_result_goes_to_xcom_as_json_ready_values():
    result = Validated(night=dt.date(2026, 11, 2), dump="/d", source_file="products.csv",
                       rows_received=10, accepted=8, rejected=2, reject_share=0.2,
                       validation_report="/lake/validation/2026-11-02/report.html")
    payload = result.to_xcom()
    assert payload["night"] == "2026-11-02" and payload["rejected"] == 2
    assert json.loads(json.dumps(payload)) == payload


def test_a_skipped_step_says_why_and_defaults_stay_empty():
    skipped = Classified(night=dt.date(2026, 11, 2), classified=0, skipped="no champion yet")
    assert skipped.to_xcom()["skipped"] == "no champion yet"
    assert skipped.model_version is None and skipped.seconds == 0.0
    assert Reclassified(night=dt.date(2026, 11, 2), classified=1, embedded=0).report is None
