"""dags/catalog_retrain.py and catalog_reclassify.py under dag.test(): a promotion's Asset
event drives reclassification; a retrain that does not win promotes nothing."""

from __future__ import annotations

import pytest

from catalog_ml.airflow.constants import CHAMPION_ASSET_URI
from catalog_ml.models.registry import champion
from tests.conftest import ROOT
from tests.integration.conftest import NIGHT

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.airflow]


def _asset_events() -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.count()).select_from(AssetEvent).join(
            AssetModel, AssetEvent.asset_id == AssetModel.id).where(
            AssetModel.uri == CHAMPION_ASSET_URI))


def _dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags


@pytest.fixture()
def world(classified_lake, tmp_path, cli_env, airflow_db):
    copy = classified_lake.copy(tmp_path)
    cli_env(copy)
    return copy


def test_retrain_dag_without_a_win_registers_but_does_not_promote(world, monkeypatch):
    lake = world.lake
    before, events = champion(lake).version, _asset_events()
    monkeypatch.setenv("CATALOG_ML_PROMOTION_MARGIN", "1.0")  # nothing beats a champion by 1.0
    run = _dags()["catalog_retrain"].test(run_conf={"epochs": 5, "promote": True})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"train": "success", "promote": "skipped"}
    assert champion(lake).version == before
    assert lake.read("models").num_rows == 2  # registered as a challenger
    assert _asset_events() == events


def test_retrain_dag_promotes_and_the_asset_drives_reclassification(world, monkeypatch):
    lake = world.lake
    before, events = champion(lake).version, _asset_events()
    monkeypatch.setenv("CATALOG_ML_PROMOTION_MARGIN", "-1.0")  # any challenger wins
    dags = _dags()
    run = dags["catalog_retrain"].test(run_conf={"epochs": 5, "promote": True})
    assert run.state == "success"
    after = champion(lake).version
    assert after != before
    assert _asset_events() == events + 1
    # the scheduler starts catalog_reclassify on that event; dag.test() stands in for it
    assert dags["catalog_reclassify"].test().state == "success"
    versions = set(lake.read("classifications", where={"run_date": NIGHT})
                   .column("model_version").to_pylist())
    assert versions == {after}
