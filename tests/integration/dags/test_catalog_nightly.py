"""dags/catalog_nightly.py run through Airflow's dag.test() on a real classified lake."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import BROKEN_FIELDS, N_NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.airflow]


def test_the_nightly_dag_runs_a_night_found_through_the_date_template(
        classified_lake, tmp_path, monkeypatch, airflow_db):
    world = classified_lake.copy(tmp_path)
    settings = world.settings.replace(dump_template=str(tmp_path / "landing" / "{date}"))
    night = dt.date(2026, 11, 5)
    shutil.copytree(world.dump("tonight"), settings.dump_dir(night.isoformat()))
    monkeypatch.setenv("CATALOG_ML_LAKE", settings.lake)
    monkeypatch.setenv("CATALOG_ML_DUMP_TEMPLATE", settings.dump_template)
    monkeypatch.setenv("CATALOG_ML_SPARK_MASTER", "local[2]")
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["catalog_nightly"]
    run = dag.test(logical_date=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
    assert run.state == "success"
    lake = world.lake
    assert lake.read("classifications", where={"run_date": night}).num_rows == N_NIGHT
    assert lake.read("quarantine", where={"dump_date": night}).num_rows == len(BROKEN_FIELDS)
