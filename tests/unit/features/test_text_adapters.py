"""catalog_ml.features.text_adapters: LoRA adapters and full fine-tuning on the real shipped
MiniLM."""

import itertools

import numpy as np
import pytest

from catalog_ml.features.model_files import default_text_encoder_path
from catalog_ml.features.runtime import resolve_runtime
from catalog_ml.features.text_adapters import AdaptedTextEncoder

# two article types whose titles share every word but one, a third apart
DOCUMENTS = [f"{brand} men {colour} {kind}" for brand in ("Nike", "Puma", "Adidas", "Roadster")
             for colour in ("navy", "red", "black", "white") for kind in ("tee", "polo", "belt")]
TARGETS = np.asarray([("tee", "polo", "belt").index(d.split()[-1]) for d in DOCUMENTS])


@pytest.fixture(scope="module")
def adapted():
    return AdaptedTextEncoder.fit(default_text_encoder_path(), DOCUMENTS, TARGETS, 3,
                                  resolve_runtime("cpu", "fp32"), epochs=3, seed=0)


def test_training_moves_the_vectors_and_the_adapters_round_trip(adapted):
    runtime = resolve_runtime("cpu", "fp32")
    vectors = adapted.encode(DOCUMENTS)
    assert vectors.shape == (len(DOCUMENTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    untrained = AdaptedTextEncoder.restore(
        default_text_encoder_path(),
        {k: np.zeros_like(v) if k.endswith(".up") else v
         for k, v in adapted.tensors("a").items()}, "a", runtime)
    assert not np.allclose(untrained.encode(DOCUMENTS), vectors, atol=1e-3)
    restored = AdaptedTextEncoder.restore(default_text_encoder_path(), adapted.tensors("a"),
                                          "a", runtime)
    np.testing.assert_allclose(restored.encode(DOCUMENTS), vectors, atol=1e-5)


def test_adapters_for_another_encoder_are_refused(adapted):
    arrays = adapted.tensors("a")
    name = next(iter(arrays))
    arrays[name] = arrays[name][:, :3]
    with pytest.raises(ValueError, match="shape"):
        AdaptedTextEncoder.restore(default_text_encoder_path(), arrays, "a",
                                   resolve_runtime("cpu", "fp32"))
    with pytest.raises(ValueError, match="do not match"):
        AdaptedTextEncoder.restore(default_text_encoder_path(), {}, "a",
                                   resolve_runtime("cpu", "fp32"))


def test_the_schedule_warms_up_then_decays_for_any_number_of_steps():
    from catalog_ml.features.text_adapters import warm_then_decay

    assert warm_then_decay(1)(0) == 1.0  # a single step still learns
    factor = warm_then_decay(100)
    rates = [factor(step) for step in range(100)]
    assert rates[0] < rates[9] == 1.0 and rates[-1] >= 0.05
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))


@pytest.fixture(scope="module")
def fully_tuned():
    return AdaptedTextEncoder.fit(default_text_encoder_path(), DOCUMENTS, TARGETS, 3,
                                  resolve_runtime("cpu", "fp32"), epochs=2, seed=0,
                                  method="full")


def test_full_fine_tuning_stores_the_whole_encoder_moves_it_and_round_trips(fully_tuned):
    from catalog_ml.features.text_adapters import _adapted

    runtime = resolve_runtime("cpu", "fp32")
    arrays = fully_tuned.tensors("t")
    names = {name for name, _ in fully_tuned.model.named_parameters()}
    assert {k.removeprefix("t.") for k in arrays} == names  # the whole encoder is stored
    _, untuned = _adapted(default_text_encoder_path(), runtime, "full")
    moved = [n for n, v in untuned.named_parameters()
             if not np.allclose(v.detach().numpy(), arrays[f"t.{n}"])]
    assert len(moved) > len(names) // 2  # not only the last layer or the adapters
    vectors = fully_tuned.encode(DOCUMENTS)
    restored = AdaptedTextEncoder.restore(default_text_encoder_path(), arrays, "t", runtime,
                                          "full")
    assert restored.method == "full"
    np.testing.assert_allclose(restored.encode(DOCUMENTS), vectors, atol=1e-5)


def test_weights_of_one_method_are_refused_by_the_other(adapted, fully_tuned):
    runtime = resolve_runtime("cpu", "fp32")
    with pytest.raises(ValueError, match="full weights"):
        AdaptedTextEncoder.restore(default_text_encoder_path(), adapted.tensors("a"), "a",
                                   runtime, "full")
    with pytest.raises(ValueError, match="lora weights"):
        AdaptedTextEncoder.restore(default_text_encoder_path(), fully_tuned.tensors("a"), "a",
                                   runtime, "lora")
    with pytest.raises(ValueError, match="unknown fine-tuning method 'prefix'"):
        AdaptedTextEncoder.restore(default_text_encoder_path(), {}, "a", runtime, "prefix")
