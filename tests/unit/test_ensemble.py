"""The ensemble: members, learned weights, evaluation report and the pickle-free artifact."""

import json
from pathlib import Path

import numpy as np
import pytest

from catalog_ml.errors import ArtifactError
from catalog_ml.models.ensemble import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    EnsembleModel,
    ProductBatch,
    artifact_digest,
    combine,
)
from catalog_ml.models.inputs import PriceScale, build_inputs
from catalog_ml.models.lexical import TfidfFeatures, product_document
from catalog_ml.models.linear import SoftmaxLinear
from catalog_ml.training.ensemble_trainer import (
    EnsembleOptions,
    LabelledProducts,
    back_off,
    fit_weights,
    holdout_mask,
    train_ensemble,
)
from catalog_ml.training.report import evaluation_html
from catalog_ml.training.trainer import TrainOptions

WORDS = {0: "lamp", 1: "chair", 2: "table", 3: "sofa", 4: "rug", 5: "vase"}


def labelled(n: int = 360, seed: int = 0) -> tuple[LabelledProducts, PriceScale]:
    """Six leaves under two parents; the title names the leaf only sometimes (noisy), the
    embeddings carry it too, so members disagree and the ensemble has something to do."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(6, size=n)
    centres = rng.normal(size=(6, 12))
    text = centres[classes] + rng.normal(scale=1.2, size=(n, 12))
    image = [None if rng.random() < 0.3 else centres[c] + rng.normal(0, 1.0, 12)
             for c in classes]
    titles = [f"product {WORDS[c] if rng.random() < 0.6 else WORDS[rng.integers(6)]} {i}"
              for i, c in enumerate(classes)]
    scale = PriceScale.fit(np.array([1.0]))
    inputs = build_inputs(list(text), image, [None] * n, scale, 12)
    names = [f"{'Home' if c < 3 else 'Living'} > {WORDS[c].title()}" for c in classes]
    batch = ProductBatch(inputs, [product_document(t, None, None, None) for t in titles])
    return LabelledProducts(batch, names, [f"p{i}" for i in range(n)]), scale


@pytest.fixture(scope="module")
def trained():
    data, scale = labelled()
    options = EnsembleOptions(fusion=TrainOptions(epochs=15, width=32, seed=1), folds=3)
    return data, scale, *train_ensemble(data, scale, "enc-v1", options)


def test_the_report_has_cross_validation_per_view_a_holdout_and_a_threshold(trained):
    data, _, model, report = trained
    views = {"ensemble", "fusion_net", "text_only", "image_only", "baseline_tfidf_lr"}
    assert set(report["cross_validation"]) == set(report["cross_validation_pooled"]) == views
    assert set(report["holdout"]["views"]) == views
    leaf = report["cross_validation"]["ensemble"]["level_2"]["accuracy"]
    assert len(leaf["folds"]) == 3 and 0.6 < leaf["mean"] <= 1.0
    protocol = report["protocol"]
    assert protocol["training"] + protocol["holdout"] == len(data.labels)
    assert report["holdout"]["n"] == protocol["holdout"] > 0
    assert sum(model.weights.values()) == pytest.approx(1.0)
    assert model.review_threshold == report["review_threshold"]
    assert "<svg" in evaluation_html(report) and "Confusion" in evaluation_html(report)


def test_the_ensemble_is_at_least_as_good_as_its_best_single_view(trained):
    cv = trained[3]["cross_validation"]
    ensemble = cv["ensemble"]["level_2"]["accuracy"]["mean"]
    assert ensemble >= max(cv[v]["level_2"]["accuracy"]["mean"] for v in cv) - 0.02
    # the titles name the leaf only 60 % of the time: the embeddings carry the rest
    assert ensemble > cv["baseline_tfidf_lr"]["level_2"]["accuracy"]["mean"] + 0.05


def test_the_artifact_round_trips_without_pickle(trained, tmp_path):
    data, _, model, _ = trained
    folder = tmp_path / "m"
    digest = model.save(folder)
    assert len(digest) == 64
    assert sorted(p.name for p in folder.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE])
    assert json.loads((folder / CONFIG_FILE).read_text())["classes"] == model.classes
    loaded = EnsembleModel.load(folder, digest)
    first, second = model.predict(data.batch), loaded.predict(data.batch)
    assert first.categories == second.categories
    np.testing.assert_allclose(first.confidence, second.confidence, rtol=1e-5)
    assert all(len(top) == 3 for top in second.top_k)
    assert set(second.categories) <= set(data.labels)


def test_an_old_or_foreign_artifact_is_refused_with_a_clear_error(tmp_path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"format": "catalog-ml/fusion/1"}))
    (tmp_path / WEIGHTS_FILE).write_bytes(b"")
    digest = artifact_digest({CONFIG_FILE: (tmp_path / CONFIG_FILE).read_bytes(),
                              WEIGHTS_FILE: b""})
    with pytest.raises(ArtifactError, match="retrain"):
        EnsembleModel.load(tmp_path, digest)
    with pytest.raises(ArtifactError, match="no checksum"):
        EnsembleModel.load(tmp_path, None)


def _tamper(folder: Path, change) -> str:
    """Edit model.json and return the digest of the edited files (a forger's best case)."""
    meta = json.loads((folder / CONFIG_FILE).read_text())
    change(meta)
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    return artifact_digest({name: (folder / name).read_bytes()
                            for name in (CONFIG_FILE, WEIGHTS_FILE)})


def test_an_altered_artifact_fails_its_checksum(trained, tmp_path):
    model = trained[2]
    digest = model.save(tmp_path / "m")
    _tamper(tmp_path / "m", lambda meta: meta["classes"].reverse())
    with pytest.raises(ArtifactError, match=r"SHA-256 .* is not the registered"):
        EnsembleModel.load(tmp_path / "m", digest)
    (tmp_path / "m" / WEIGHTS_FILE).unlink()
    with pytest.raises(ArtifactError, match=r"cannot read the model file model\.safetensors"):
        EnsembleModel.load(tmp_path / "m", digest)


@pytest.mark.parametrize(("change", "message"), [
    (lambda meta: meta.update(temperature=0), "temperature 0.0 is not a positive"),
    (lambda meta: meta.update(temperature=float("nan")), "temperature nan"),
    (lambda meta: meta.update(review_threshold=-0.5), "review_threshold -0.5"),
    (lambda meta: meta["classes"].pop(), "scores .* classes, the model has"),
    (lambda meta: meta.update(classes=["A"] * len(meta["classes"])), "repeated"),
    (lambda meta: meta.update(weights={"fusion": -1.0}), "not non-negative"),
    (lambda meta: meta.update(weights={"mystery": 1.0}), "unknown members"),
])
def test_an_artifact_whose_numbers_cannot_work_is_refused(trained, tmp_path, change, message):
    trained[2].save(tmp_path / "m")
    digest = _tamper(tmp_path / "m", change)
    with pytest.raises(ArtifactError, match=message):
        EnsembleModel.load(tmp_path / "m", digest)


def test_a_member_that_cannot_see_a_product_is_left_out_of_its_average():
    log_probs = {"a": np.log([[0.9, 0.1]]), "b": np.log([[0.1, 0.9]])}
    weights = {"a": 0.5, "b": 0.5}
    both = combine(log_probs, {"a": np.array([True]), "b": np.array([True])}, weights, 1.0)
    only_a = combine(log_probs, {"a": np.array([True]), "b": np.array([False])}, weights, 1.0)
    assert both[0, 0] == pytest.approx(both[0, 1])
    np.testing.assert_allclose(only_a, log_probs["a"])


def test_learned_weights_favour_the_member_that_is_right():
    rng = np.random.default_rng(0)
    targets = rng.integers(3, size=600)
    good = np.log(np.full((600, 3), 0.1))
    good[np.arange(600), targets] = np.log(0.8)
    noise = np.log(rng.dirichlet(np.ones(3), size=600))
    present = {"good": np.ones(600, bool), "noise": np.ones(600, bool)}
    weights, temperature = fit_weights({"good": good, "noise": noise}, present, targets,
                                       ("good", "noise"))
    assert weights["good"] > 0.8 and temperature > 0


def test_rare_leaves_back_off_to_their_parent():
    labels = ["A > x"] * 3 + ["A > y"] + ["B"]
    assert back_off(labels, 2) == ["A > x"] * 3 + ["A", "B"]
    assert back_off(labels, 1) == labels


def test_the_holdout_is_the_same_products_whatever_else_is_labelled():
    ids = [f"sku-{i}" for i in range(2000)]
    labels = ["A"] * 2000
    first = holdout_mask(ids, labels, 0.15, 5)
    again = holdout_mask(ids[:1000], labels[:1000], 0.15, 5)
    assert 0.12 < first.mean() < 0.18
    assert (first[:1000] == again).all()
    assert not holdout_mask(ids[:3], ["A", "B", "C"], 0.99, 5).any()  # rare classes stay


def test_linear_members_and_tfidf_restore_exactly():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 5))
    targets = (features[:, 0] > 0).astype(int)
    member = SoftmaxLinear.fit(features, targets, 3, 1.0, True, 0)
    proba = np.exp(member.log_proba(features))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert (proba.argmax(1) == targets).mean() > 0.9 and proba[:, 2].max() < 1e-9
    restored = SoftmaxLinear.from_tensors(member.tensors("m"), "m")
    np.testing.assert_allclose(restored.log_proba(features), member.log_proba(features))
    documents = ["red cotton shirt", "blue shoes", "red shoes", "cotton scarf"]
    tfidf = TfidfFeatures.fit(documents)
    again = TfidfFeatures.restore(tfidf.meta(), tfidf.tensors("t"), "t")
    assert abs(again.transform(["red shirt"]) - tfidf.transform(["red shirt"])).sum() == 0


def test_the_product_document_carries_extra_columns_as_words():
    document = product_document("Shirt", "Acme", None, json.dumps({"gender": "Men", "x": ""}))
    assert document == "Shirt | Acme | gender Men"


def test_a_large_catalog_is_cross_validated_on_a_stratified_sample():
    data, scale = labelled(240, seed=2)
    options = EnsembleOptions(fusion=TrainOptions(epochs=3, width=16), folds=3,
                              cv_max_products=120)
    _, report = train_ensemble(data, scale, "enc-v1", options)
    assert report["protocol"]["cross_validated"] == 120
    assert report["protocol"]["training"] + report["protocol"]["holdout"] == 240
