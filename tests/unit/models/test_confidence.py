"""catalog_ml.models.confidence: the answer's calibrated confidence and its checks."""

import numpy as np

from catalog_ml.models.confidence import ConfidenceCalibration, calibration_problem

CALIBRATION = ConfidenceCalibration(probability_coef=0.8, support_coef=0.5, intercept=-1.0,
                                    support=(1, 40, 400))


def test_the_confidence_rises_with_the_probability_and_with_the_category_s_labels():
    probability = np.array([0.6, 0.9, 0.99, 0.99, 0.99])
    chosen = np.array([1, 1, 1, 0, 2])
    confidence = CALIBRATION.apply(probability, chosen)
    assert np.all(np.diff(confidence[:3]) > 0)
    assert confidence[3] < confidence[2] < confidence[4]  # 1 label < 40 < 400
    assert np.all((confidence > 0) & (confidence < 1))


def test_a_probability_of_one_or_zero_gives_a_finite_confidence():
    confidence = CALIBRATION.apply(np.array([0.0, 1.0]), np.array([2, 2]))
    assert np.all(np.isfinite(confidence)) and confidence[0] < confidence[1]


def test_it_travels_as_json_numbers():
    assert ConfidenceCalibration.from_dict(CALIBRATION.to_dict()) == CALIBRATION
    assert calibration_problem(CALIBRATION.to_dict(), 3) is None
    assert calibration_problem(None, 3) is None  # older models: the probability itself


def test_a_calibration_that_cannot_work_is_named():
    meta = CALIBRATION.to_dict()
    assert "has 4" in calibration_problem(meta, 4)
    assert "positive weight" in calibration_problem({**meta, "probability_coef": 0.0}, 3)
    assert "positive weight" in calibration_problem({**meta, "intercept": float("nan")}, 3)
    assert "not three numbers" in calibration_problem({**meta, "support": None}, 3)
    assert "not three numbers" in calibration_problem({"intercept": 1.0}, 3)
