"""catalog_ml.models.ensemble: combining members and the pickle-free, checksummed artifact."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from catalog_ml.errors import ArtifactError
from catalog_ml.models.ensemble import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    EnsembleModel,
    artifact_digest,
    combine,
)


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


def test_the_decision_its_top_k_and_modality_shares_agree(trained):
    data, _, model, _ = trained
    prediction = model.predict(data.batch)
    assert [top[0][0] for top in prediction.top_k] == prediction.categories
    assert np.allclose(prediction.modality_weights.sum(1), 1.0)
    # a model that only listens to the text members owes every decision to the text
    text_only = dataclasses.replace(model, weights={"lexical": 0.5, "text_linear": 0.5})
    shares = text_only.predict(data.batch).modality_weights
    assert np.allclose(shares[:, 0], 1.0) and np.allclose(shares[:, 1:], 0.0)
    # and one that only listens to the image owes them to the image where there is a photo
    image_only = dataclasses.replace(model, weights={"image_linear": 1.0})
    has_image = data.batch.inputs.present[:, 1].numpy()
    assert np.allclose(image_only.predict(data.batch).modality_weights[has_image, 1], 1.0)


def test_level_weights_travel_with_the_artifact_and_bad_ones_are_refused(trained, tmp_path):
    _, _, model, _ = trained
    depth = max(len(c.split(" > ")) for c in model.classes)
    pathwise = dataclasses.replace(model, level_weights=[1.0] * depth)
    digest = pathwise.save(tmp_path / "ok")
    assert EnsembleModel.load(tmp_path / "ok", digest).level_weights == [1.0] * depth
    broken = dataclasses.replace(model, level_weights=[1.0] * (depth + 1))
    digest = broken.save(tmp_path / "bad")
    with pytest.raises(ArtifactError, match="level_weights"):
        EnsembleModel.load(tmp_path / "bad", digest)


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
    (lambda meta: (meta["classes"].pop(), meta.update(confidence_calibration=None)),
     "scores .* classes, the model has"),
    (lambda meta: meta["classes"].pop(), "calibration counts .* classes' labels, the model has"),
    (lambda meta: meta["confidence_calibration"].update(probability_coef=-1.0),
     "positive weight on the probability"),
    (lambda meta: meta["confidence_calibration"].update(intercept="x"), "not three numbers"),
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
