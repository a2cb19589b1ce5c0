"""Temperature scaling: the T that makes ``softmax(logits / T)`` honest on held-out rows.

The log-loss is convex in log T, so a bounded scalar search over ``TEMPERATURE_RANGE`` in
float64 finds it directly. (It was LBFGS through autograd: on 10,000 rows x 143 classes the
allocator kept ~1 GB from its hundred evaluations, for one number; ``benchmarks/mix_memory.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

TEMPERATURE_RANGE = (0.5, 10.0)
LOG_T_TOLERANCE = 1e-4  # T to within 0.01 %


def fit_temperature(logits: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray
                    ) -> float:
    """The temperature in ``TEMPERATURE_RANGE`` with the lowest mean log-loss.

    A validation split with no errors drives the optimum towards 0 (infinitely sure); label
    smoothing makes honest values a little below 1, so the range bounds it.
    """
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().float().cpu().numpy()
    if isinstance(targets, torch.Tensor):
        targets = targets.detach().cpu().numpy()
    scores = np.asarray(logits, dtype=np.float64)
    if len(targets) == 0 or not np.isfinite(scores).all():
        return 1.0
    true = scores[np.arange(len(scores)), np.asarray(targets, dtype=np.int64)]

    def log_loss(log_t: float) -> float:
        scale = math.exp(-log_t)
        return float(np.mean(logsumexp(scores * scale, axis=1) - true * scale))

    low, high = (math.log(bound) for bound in TEMPERATURE_RANGE)
    found = minimize_scalar(log_loss, bounds=(low, high), method="bounded",
                            options={"xatol": LOG_T_TOLERANCE})
    # the search stops near a bound, not on it: an optimum at the bound is the bound
    best = min((low, high, float(found.x)), key=log_loss)
    return min(max(math.exp(best), TEMPERATURE_RANGE[0]), TEMPERATURE_RANGE[1])
