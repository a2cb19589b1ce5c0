"""catalog_ml.training.members: every member fitted on one set of labelled products."""

from __future__ import annotations

import numpy as np

from catalog_ml.training.members import fit_members
from catalog_ml.training.options import TrainOptions
from tests.unit.synthetic import labelled


def test_each_member_scores_the_products_it_can_see():
    data, scale = labelled(120, seed=4)
    classes = sorted(set(data.labels))
    members = fit_members(data.batch, data.labels, classes, scale, "enc-v1",
                          TrainOptions(epochs=3, width=16))
    log_probs, present, _ = members.outputs(data.batch)
    assert set(log_probs) == {"fusion", "lexical", "text_linear", "image_linear"}
    for name, scores in log_probs.items():
        assert scores.shape == (120, len(classes)), name
        rows = present[name]
        np.testing.assert_allclose(np.exp(scores[rows]).sum(1), 1.0, rtol=1e-4)
    has_photo = data.batch.inputs.present[:, 1].numpy()
    assert (present["image_linear"] == has_photo).all() and present["lexical"].all()
