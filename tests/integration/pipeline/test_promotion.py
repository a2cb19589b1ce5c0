"""catalog_ml.pipeline.promotion: the A/B on the same held-out products, promote and roll back."""

from __future__ import annotations

import numpy as np
import pytest

from catalog_ml.cli import main
from catalog_ml.models.ensemble import ProductBatch
from catalog_ml.models.inputs import PriceScale
from catalog_ml.models.registry import champion, register
from catalog_ml.pipeline.promotion import compare_with_champion
from catalog_ml.pipeline.train import labelled_with_vectors, promote_if_better
from catalog_ml.training.ensemble_trainer import LabelledProducts, train_ensemble
from catalog_ml.training.options import EnsembleOptions, TrainOptions

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_a_worse_challenger_is_not_promoted_and_the_comparison_is_stored(trained_lake,
                                                                         tmp_path):
    """A model trained on shuffled labels loses the A/B on the same held-out products."""
    world = trained_lake.copy(tmp_path)
    settings, lake = world.settings, world.lake
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


def test_promote_by_hand_and_roll_back(trained_lake, tmp_path):
    lake = trained_lake.copy(tmp_path).lake
    good = champion(lake)
    second = register(lake, good.load(lake), label_snapshot="again")
    assert second.status == "challenger"
    assert main(["promote", second.version, "--lake", lake.root]) == 0
    assert champion(lake).version == second.version
    assert main(["rollback", "--lake", lake.root]) == 0
    assert champion(lake).version == good.version
    statuses = {r["version"]: r["status"] for r in lake.read("models").to_pylist()}
    assert list(statuses.values()).count("champion") == 1
    assert main(["promote", "no-such-version", "--lake", lake.root]) == 64
