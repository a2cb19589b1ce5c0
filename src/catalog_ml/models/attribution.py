"""Which modality drove each decision: the members' shares of the chosen class's margin.

The mix scores a class as the weighted mean of the members' log-probabilities, so its margin
over the runner-up splits exactly into one term per member: ``w_m (log p_m(chosen) - log
p_m(runner-up))``. A member's share is its positive term over the sum of positive terms (a
member that argued against the decision gets none). Text members count for the text, the
image member for the image, and the fusion net's share is split by its attention over text,
image and price. These are the ``modality_weights`` stored with each classification: what
decided, not what the attention alone would say.
"""

from __future__ import annotations

import numpy as np

from catalog_ml.models.fusion import MODALITIES

MEMBER_MODALITY = {"lexical": "text", "text_linear": "text", "text_tuned": "text",
                   "image_linear": "image"}
FUSION = "fusion"


def modality_shares(log_probs: dict[str, np.ndarray], present: dict[str, np.ndarray],
                    weights: dict[str, float], chosen: np.ndarray, runner_up: np.ndarray,
                    fusion_attention: np.ndarray) -> np.ndarray:
    """(n, 3): the text, image and price shares of each row's decision, summing to 1."""
    n = len(chosen)
    rows = np.arange(n)
    names = [m for m, w in weights.items() if w > 0 and m in log_probs]
    mass = sum((weights[m] * present[m] for m in names), np.zeros(n))
    terms = {m: np.clip(weights[m] * present[m] * (log_probs[m][rows, chosen]
                                                   - log_probs[m][rows, runner_up]), 0, None)
             / np.maximum(mass, 1e-12) for m in names}
    total = sum(terms.values(), np.zeros(n))
    # no member for the decision over the runner-up (a path decision against the argmax):
    # each member's weight in the mix instead
    fallback = total <= 1e-12
    for m in names:
        terms[m] = np.where(fallback, weights[m] * present[m] / np.maximum(mass, 1e-12),
                            terms[m] / np.maximum(total, 1e-12))
    shares = np.zeros((n, len(MODALITIES)))
    for m in names:
        if m == FUSION:
            shares += terms[m][:, None] * fusion_attention
        else:
            shares[:, MODALITIES.index(MEMBER_MODALITY[m])] += terms[m]
    sums = shares.sum(1, keepdims=True)
    return np.where(sums > 0, shares / np.maximum(sums, 1e-12), fusion_attention)
