"""catalog_ml.models.linear: the softmax-linear member on embeddings."""

import numpy as np

from catalog_ml.models.linear import SoftmaxLinear


def test_a_linear_member_learns_and_restores_exactly():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 5))
    targets = (features[:, 0] > 0).astype(int)
    member = SoftmaxLinear.fit(features, targets, 3, 1.0, True, 0)
    proba = np.exp(member.log_proba(features))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert (proba.argmax(1) == targets).mean() > 0.9 and proba[:, 2].max() < 1e-9
    restored = SoftmaxLinear.from_tensors(member.tensors("m"), "m")
    np.testing.assert_allclose(restored.log_proba(features), member.log_proba(features))
