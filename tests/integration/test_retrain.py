"""The model lifecycle on real data: train, evaluate, register, A/B, promote, roll back,
and the retrain / reclassify DAGs under dag.test().

Tests run in file order on one lake: each step builds on the registry the previous one left.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from catalog_ml.cli import main
from catalog_ml.config import load_settings
from catalog_ml.lake import Lake
from catalog_ml.models.ensemble import ProductBatch
from catalog_ml.models.inputs import PriceScale
from catalog_ml.models.registry import champion, register
from catalog_ml.pipeline.nightly import run_night
from catalog_ml.pipeline.promotion import compare_with_champion
from catalog_ml.pipeline.train import labelled_with_vectors, promote_if_better
from catalog_ml.training.ensemble_trainer import (
    EnsembleOptions,
    LabelledProducts,
    train_ensemble,
)
from catalog_ml.training.trainer import TrainOptions

from ..conftest import fashion_rows, write_fashion_dump

pytestmark = [pytest.mark.spark, pytest.mark.slow]
LABELLED, NIGHT = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
ASSET = "catalog-ml://models/champion"
SETTINGS = {"spark_master": "local[2]", "train_epochs": "15", "cv_folds": "3"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    base = tmp_path_factory.mktemp("retrain")
    settings = load_settings(lake=str(base / "lake"), **SETTINGS)
    rows = fashion_rows()
    common = rows["articleType"].map(rows["articleType"].value_counts()) >= 40
    rows = rows[common].sample(n=420, random_state=3)
    write_fashion_dump(base / "labelled", rows.iloc[:360], labelled=True)
    write_fashion_dump(base / "night", rows.iloc[360:], labelled=False)
    run_night(settings, LABELLED, str(base / "labelled"))
    return {"base": base, "settings": settings, "lake": Lake(settings.lake)}


@pytest.fixture()
def env(world, monkeypatch):
    monkeypatch.setenv("CATALOG_ML_LAKE", world["settings"].lake)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(f"CATALOG_ML_{name.upper()}", value)
    return monkeypatch


def test_cli_train_registers_the_first_champion_and_lists_it(world, env, capsys):
    assert main(["train", "--lake", world["settings"].lake]) == 0
    out = capsys.readouterr().out
    assert "fold 3/3" in out and "evaluation report:" in out
    assert main(["models", "--lake", world["settings"].lake, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1 and rows[0]["status"] == "champion"
    assert rows[0]["cv_leaf_accuracy"] > 0.6 and rows[0]["review_threshold"] > 0
    assert rows[0]["holdout_precision"] >= 0.97 or rows[0]["holdout_coverage"] == 0
    run_night(world["settings"], NIGHT, str(world["base"] / "night"))
    classified = world["lake"].read("classifications", where={"run_date": NIGHT})
    assert classified.num_rows == 60


def test_label_changes_since_the_champion_decide_a_scheduled_retrain(world):
    """Nothing changed since the champion's training: a scheduled retrain would be skipped;
    one corrected label makes it train."""
    import datetime as dt

    import pyarrow as pa

    from catalog_ml.lake.tables import LABELS
    from catalog_ml.pipeline.train import label_changes_since_champion

    lake = world["lake"]
    changed, why = label_changes_since_champion(lake)
    assert changed == 0 and "since the champion" in why
    first = lake.read("labels").to_pylist()[0]
    other = next(c for c in lake.read("labels").column("category").to_pylist()
                 if c != first["category"])
    lake.upsert("labels", pa.Table.from_pylist([{
        "product_id": first["product_id"], "category": other, "source": "review",
        "dump_date": dt.date(2026, 11, 30), "content_hash": first["content_hash"]}],
        schema=LABELS.schema))
    assert label_changes_since_champion(lake)[0] == 2  # the old pair out, the new pair in
    lake.delete("labels", {"source": "review", "dump_date": dt.date(2026, 11, 30)})
    assert label_changes_since_champion(lake)[0] == 0


def test_an_unknown_label_snapshot_is_a_clear_error(world, env, capsys):
    assert main(["train", "--labels-version", "99", "--lake", world["settings"].lake]) == 64
    assert "labels has no version 99; its versions are 0 to" in capsys.readouterr().err


def test_a_worse_challenger_is_not_promoted_and_the_comparison_is_stored(world):
    """A model trained on shuffled labels loses the A/B on the same held-out products."""
    settings, lake = world["settings"], world["lake"]
    before = champion(lake)
    data, _ = labelled_with_vectors(settings, lake, None)
    scale = PriceScale.fit(np.full(len(data), np.nan))
    shuffled = list(np.random.default_rng(0).permutation(data["category"].to_numpy()))
    batch = ProductBatch.from_frame(data, scale, 1280)
    bad, report = train_ensemble(
        LabelledProducts(batch, shuffled, list(data["product_id"])), scale,
        before.encoder_version, EnsembleOptions(fusion=TrainOptions(epochs=5), folds=3))
    entry = register(lake, bad, label_snapshot="shuffled")
    assert entry.status == "challenger"
    holdout = data[data["product_id"].isin(report["holdout"]["product_ids"])]
    comparison = compare_with_champion(lake, bad, entry.version, before, holdout, 0.0)
    assert not comparison["challenger_wins"]
    assert comparison["champion_score"] > comparison["challenger_score"]
    decision = promote_if_better(settings, entry.version)
    assert decision["promoted"] is False and "does not win" in decision["reason"]
    assert champion(lake).version == before.version
    stored = lake.read("model_comparisons", where={"challenger": entry.version}).to_pylist()
    assert len(stored) == 1 and stored[0]["products"] == len(holdout) > 0
    world["bad"] = entry.version


def test_promote_by_hand_and_roll_back(world, env):
    lake = world["lake"]
    good = champion(lake).version
    assert main(["promote", world["bad"], "--lake", lake.root]) == 0
    assert champion(lake).version == world["bad"]
    assert main(["rollback", "--lake", lake.root]) == 0
    assert champion(lake).version == good
    statuses = {r["version"]: r["status"] for r in lake.read("models").to_pylist()}
    assert list(statuses.values()).count("champion") == 1
    assert main(["promote", "no-such-version", "--lake", lake.root]) == 64


def _asset_events() -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.count()).select_from(AssetEvent).join(
            AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == ASSET))


def _dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).parents[2] / "dags")).dags


@pytest.mark.airflow
def test_retrain_dag_without_a_win_registers_but_does_not_promote(world, env, airflow_db):
    lake = world["lake"]
    before = champion(lake).version
    env.setenv("CATALOG_ML_PROMOTION_MARGIN", "1.0")  # nothing beats a champion by 1.0
    run = _dags()["catalog_retrain"].test(run_conf={"epochs": 5, "promote": True})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"train": "success", "promote": "skipped"}
    assert champion(lake).version == before
    assert _asset_events() == 0


@pytest.mark.airflow
def test_retrain_dag_promotes_and_the_asset_drives_reclassification(world, env, airflow_db):
    lake = world["lake"]
    before = champion(lake).version
    env.setenv("CATALOG_ML_PROMOTION_MARGIN", "-1.0")  # any challenger wins
    dags = _dags()
    run = dags["catalog_retrain"].test(run_conf={"epochs": 5, "promote": True})
    assert run.state == "success"
    after = champion(lake).version
    assert after != before
    assert _asset_events() == 1
    # the scheduler starts catalog_reclassify on that event; dag.test() stands in for it
    assert dags["catalog_reclassify"].test().state == "success"
    versions = set(lake.read("classifications", where={"run_date": NIGHT})
                   .column("model_version").to_pylist())
    assert versions == {after}
