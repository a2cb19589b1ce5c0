"""catalog_ml.demo.run: ``catalog-ml demo`` end to end on a small generated sample, with
tonight's night run by a real ``airflow dags test``."""

from __future__ import annotations

import pytest

from catalog_ml.config import load_settings
from catalog_ml.demo.run import TONIGHT, run_demo
from catalog_ml.demo.sample import BROKEN_ROWS
from catalog_ml.lake import Lake

pytestmark = [pytest.mark.spark, pytest.mark.airflow, pytest.mark.slow]


def test_the_demo_classifies_tonight_through_airflow_and_quarantines_the_broken_rows(
        tmp_path, capsys):
    settings = load_settings(lake=str(tmp_path / "lake"),
                             dump_template=str(tmp_path / "landing" / "{date}"),
                             spark_master="local[2]", train_epochs=10, cv_folds=2)
    assert run_demo(settings, rows=90, airflow_home=tmp_path / "airflow") == 0
    out = capsys.readouterr().out
    assert "5/5 results" in out and "tonight's report:" in out
    lake = Lake(settings.lake)
    classified = lake.read("classifications", where={"run_date": TONIGHT}).num_rows
    quarantined = lake.read("quarantine", where={"dump_date": TONIGHT}).num_rows
    assert classified == 30 and quarantined == len(BROKEN_ROWS)
    assert lake.file_exists(f"reports/{TONIGHT.isoformat()}/report.html")
