"""catalog_ml.training.temperature: the temperature that makes the softmax honest."""

import numpy as np
import pytest
import torch
from scipy.special import log_softmax

from catalog_ml.training.temperature import TEMPERATURE_RANGE, fit_temperature


def test_temperature_stays_bounded_when_validation_has_no_errors():
    logits = torch.tensor([[4.0, 0.0], [0.0, 4.0]] * 10)
    targets = torch.tensor([0, 1] * 10)
    assert fit_temperature(logits, targets) == TEMPERATURE_RANGE[0]
    noisy = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]] * 10)
    assert TEMPERATURE_RANGE[0] < fit_temperature(noisy, torch.tensor([0, 1, 1] * 10)) < 10


def test_the_temperature_is_the_log_loss_minimum_of_a_fine_grid():
    """Overconfident logits (a true temperature of 3) on numpy and torch inputs alike."""
    rng = np.random.default_rng(0)
    rows, classes = 2000, 12
    targets = rng.integers(classes, size=rows)
    honest = rng.normal(size=(rows, classes))
    honest[np.arange(rows), targets] += 1.5
    sampled = np.array([rng.choice(classes, p=np.exp(row)) for row in log_softmax(honest, 1)])
    logits = honest * 3  # three times too sure of the same ranking
    grid = np.exp(np.linspace(np.log(0.5), np.log(10), 4001))
    losses = [-log_softmax(logits / t, 1)[np.arange(rows), sampled].mean() for t in grid]
    expected = grid[int(np.argmin(losses))]
    found = fit_temperature(logits, sampled)
    assert abs(found / expected - 1) < 2e-3 and 2 < found < 4.5
    as_tensors = fit_temperature(torch.from_numpy(logits).float(), torch.from_numpy(sampled))
    assert as_tensors == pytest.approx(found, rel=1e-3)


def test_no_rows_or_broken_logits_give_one():
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0
    assert fit_temperature(np.array([[np.nan, 0.0]]), np.array([0])) == 1.0
