"""catalog_ml.training.ensemble_trainer: members, learned weights, cross-validation and holdout."""

import numpy as np
import pytest

from catalog_ml.models.ensemble import EnsembleModel
from catalog_ml.reports.evaluation_page import evaluation_html
from catalog_ml.training.ensemble_trainer import train_ensemble
from catalog_ml.training.options import EnsembleOptions, TrainOptions
from tests.unit.synthetic import labelled


def test_the_report_has_cross_validation_per_view_a_holdout_and_a_threshold(trained):
    data, _, model, report = trained
    views = {"ensemble", "fusion_net", "text_only", "lexical_only", "image_only",
             "baseline_tfidf_lr", "baseline_minilm_lr"}
    assert set(report["cross_validation"]) == set(report["cross_validation_pooled"]) == views
    assert set(report["holdout"]["views"]) == views
    leaf = report["cross_validation"]["ensemble"]["level_2"]["accuracy"]
    assert len(leaf["folds"]) == 3 and 0.6 < leaf["mean"] <= 1.0
    protocol = report["protocol"]
    assert protocol["training"] + protocol["holdout"] == len(data.labels)
    assert report["holdout"]["n"] == protocol["holdout"] > 0
    assert sum(model.weights.values()) == pytest.approx(1.0)
    assert model.review_threshold == report["review_threshold"]
    assert model.level_weights == report["level_weights"]
    assert report["view_weights"]["ensemble"]["weights"] == model.weights
    assert "<svg" in evaluation_html(report) and "Confusion" in evaluation_html(report)


def test_the_confidence_is_the_model_s_calibration_and_travels_with_it(trained, tmp_path):
    data, _, model, report = trained
    assert model.confidence_calibration is not None
    assert report["confidence_calibration"] == model.confidence_calibration.to_dict()
    batch = data.batch.subset(np.arange(40))
    prediction = model.predict(batch)
    probability = np.asarray([top[0][1] for top in prediction.top_k])  # the decision's
    chosen = np.asarray([model.classes.index(c) for c in prediction.categories])
    np.testing.assert_allclose(prediction.confidence,
                               model.confidence_calibration.apply(probability, chosen))
    assert not np.allclose(prediction.confidence, probability)
    assert "confidence is calibrated out of fold" in evaluation_html(report)
    digest = model.save(tmp_path / "m")
    loaded = EnsembleModel.load(tmp_path / "m", digest)
    assert loaded.confidence_calibration == model.confidence_calibration
    np.testing.assert_allclose(loaded.predict(batch).confidence, prediction.confidence)


def test_the_ablation_prices_every_view(trained):
    data, _, _, report = trained
    cost = report["cost"]
    assert set(cost["view_seconds"]) == set(report["cross_validation"])
    assert all(seconds > 0 for seconds in cost["member_seconds"].values())
    # the ensemble fits every member, so it costs at least as much as any single one
    assert cost["view_seconds"]["ensemble"] >= max(
        cost["view_seconds"][v] for v in ("fusion_net", "lexical_only", "image_only"))
    assert cost["fitted_products"] > len(data.labels)  # the folds and the final fit
    page = evaluation_html(report)
    assert "Ablation" in page and "fit s per 1,000" in page


def test_the_ensemble_is_at_least_as_good_as_its_best_single_view(trained):
    cv = trained[3]["cross_validation"]
    ensemble = cv["ensemble"]["level_2"]["accuracy"]["mean"]
    assert ensemble >= max(cv[v]["level_2"]["accuracy"]["mean"] for v in cv) - 0.02
    # the titles name the leaf only 60 % of the time: the embeddings carry the rest
    assert ensemble > cv["baseline_tfidf_lr"]["level_2"]["accuracy"]["mean"] + 0.05


def test_a_large_catalog_is_cross_validated_on_a_stratified_sample():
    data, scale = labelled(240, seed=2)
    options = EnsembleOptions(fusion=TrainOptions(epochs=3, width=16, text_finetune="none"),
                              folds=3, cv_max_products=120)
    _, report = train_ensemble(data, scale, "enc-v1", options)
    assert report["protocol"]["cross_validated"] == 120
    assert report["protocol"]["training"] + report["protocol"]["holdout"] == 240


def test_every_leaf_is_learnt_and_the_threshold_is_calibrated_on_rare_ones_too():
    data, scale = labelled(150, seed=6)
    data.labels[0] = "Home > Clock"
    data.labels[1] = data.labels[2] = "Living > Mirror"
    options = EnsembleOptions(fusion=TrainOptions(epochs=3, width=16, text_finetune="none"),
                              folds=3)
    model, report = train_ensemble(data, scale, "enc-v1", options)
    assert "Home > Clock" in model.classes  # by default a leaf labelled once is learnt
    protocol = report["protocol"]
    assert protocol["rare_threshold_only"] == 3
    held_out_of_common = protocol["holdout"]  # only common categories are ever held out
    # every training product was predicted out of fold and judged for the threshold
    assert report["out_of_fold"]["review"]["products"] == 150 - held_out_of_common
    # but the cross-validated figures stay stratified: the rare ones are not scored there
    assert protocol["cross_validated"] == 147


@pytest.mark.parametrize("method", ["lora", "full"])
def test_a_tuned_text_member_is_cross_validated_and_travels_with_the_artifact(tmp_path,
                                                                             method):
    from catalog_ml.models.ensemble import EnsembleModel

    data, scale = labelled(150, seed=4)
    options = EnsembleOptions(fusion=TrainOptions(epochs=3, width=16, text_finetune=method,
                                                  text_finetune_epochs=1), folds=3)
    model, report = train_ensemble(data, scale, "enc-v1", options)
    assert model.members.text_tuned is not None
    assert model.members.text_tuned.encoder.method == method
    assert "text_tuned_only" in report["cross_validation"]
    assert report["cost"]["member_seconds"]["text_tuned"] > 0
    digest = model.save(tmp_path / "m")
    loaded = EnsembleModel.load(tmp_path / "m", digest)
    assert loaded.members.text_tuned is not None
    assert loaded.members.text_tuned.encoder.method == method
    # LoRA stores kilobytes of adapters, full fine-tuning the whole ~90 MB encoder
    size = sum(f.stat().st_size for f in (tmp_path / "m").iterdir())
    assert (size > 50e6) == (method == "full")
    first, second = model.predict(data.batch), loaded.predict(data.batch)
    assert first.categories == second.categories
    np.testing.assert_allclose(first.confidence, second.confidence, rtol=1e-4)


def test_auto_tunes_the_text_of_a_small_catalog_on_a_cpu_too():
    cpu = TrainOptions(text_finetune="auto", device="cpu", text_finetune_cpu_max=100)
    assert cpu.for_products(100).text_finetune == "lora"
    assert cpu.for_products(100).tunes_text
    assert cpu.for_products(101).text_finetune == "none"
    assert not cpu.for_products(101).tunes_text
    # an explicit choice is kept whatever the size
    for method in ("none", "lora", "full"):
        chosen = TrainOptions(text_finetune=method, device="cpu", text_finetune_cpu_max=100)
        assert chosen.for_products(10).text_finetune == method
        assert chosen.for_products(10_000).text_finetune == method


def test_auto_tunes_the_text_only_where_there_is_a_gpu():
    import torch

    assert TrainOptions(text_finetune="auto").tunes_text == torch.cuda.is_available()
    assert not TrainOptions(text_finetune="auto", device="cpu").tunes_text
    assert TrainOptions(text_finetune="lora").tunes_text
    assert TrainOptions(text_finetune="full").tunes_text
    assert not TrainOptions(text_finetune="none").tunes_text
    assert TrainOptions(text_finetune="auto").text_finetune_method == "lora"
    assert TrainOptions(text_finetune="full").text_finetune_method == "full"
