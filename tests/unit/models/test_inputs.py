"""catalog_ml.models.inputs: the price scale and the fusion net's inputs."""

import numpy as np

from catalog_ml.models.inputs import PriceScale, build_inputs


def test_price_scale_masks_missing_prices_and_orders_standing():
    scale = PriceScale.fit(np.array([1.0, 10.0, 100.0, 1000.0]))
    features = scale.features(np.array([np.nan, 5.0, 500.0]))
    assert (features[0] == 0).all()
    assert features[1, 1] < features[2, 1]
    inputs = build_inputs([np.ones(4)] * 2, [None, np.ones(3)], [None, 3.0], scale, 3)
    assert inputs.present.tolist() == [[True, False, False], [True, True, True]]
