"""Turning stored embeddings and prices into model inputs, the same way in training and serving.

Price enters as log-price standardised over the training catalog plus its percentile within
that catalog (its standing: cheap or dear among the products the model knows). A missing price
is masked, never read as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from scipy import sparse

PRICE_QUANTILES = 101


@dataclass(frozen=True)
class PriceScale:
    mean: float
    std: float
    quantiles: list[float]

    @classmethod
    def fit(cls, prices: np.ndarray) -> PriceScale:
        logs = np.log1p(prices[np.isfinite(prices)])
        if len(logs) == 0:
            return cls(0.0, 1.0, [0.0] * PRICE_QUANTILES)
        grid = np.quantile(logs, np.linspace(0, 1, PRICE_QUANTILES))
        return cls(float(logs.mean()), float(logs.std() or 1.0), [float(q) for q in grid])

    def features(self, prices: np.ndarray) -> np.ndarray:
        logs = np.log1p(np.where(np.isfinite(prices), prices, 0.0))
        z = (logs - self.mean) / self.std
        grid = np.asarray(self.quantiles)
        standing = np.interp(logs, grid, np.linspace(0, 1, len(grid))) if np.ptp(grid) > 0 \
            else np.full_like(logs, 0.5)
        out = np.stack([z, standing], axis=1).astype(np.float32)
        out[~np.isfinite(prices)] = 0.0
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "quantiles": self.quantiles}


@dataclass
class ModelInputs:
    text: torch.Tensor  # (n, text_dim)
    image: torch.Tensor  # (n, image_dim), zeros where absent
    price: torch.Tensor  # (n, 2), zeros where absent
    present: torch.Tensor  # (n, 3) bool: text, image, price
    lexical: sparse.csr_matrix | None = None  # (n, vocabulary) TF-IDF, for the fusion net

    def __len__(self) -> int:
        return self.text.shape[0]

    def subset(self, index: np.ndarray | torch.Tensor | slice) -> ModelInputs:
        lexical = None
        if self.lexical is not None:
            lexical = self.lexical[index if isinstance(index, slice) else np.asarray(index)]
        return ModelInputs(self.text[index], self.image[index], self.price[index],
                           self.present[index], lexical)

    def with_lexical(self, lexical: sparse.csr_matrix) -> ModelInputs:
        return replace(self, lexical=lexical.astype(np.float32).tocsr())

    def lexical_tensor(self) -> torch.Tensor | None:
        if self.lexical is None:
            return None
        coo = self.lexical.tocoo()
        index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        return torch.sparse_coo_tensor(index, torch.from_numpy(coo.data.astype(np.float32)),
                                       coo.shape, check_invariants=False).coalesce()


def build_inputs(text_vectors: list[Any], image_vectors: list[Any], prices: list[Any],
                 price_scale: PriceScale, image_dim: int) -> ModelInputs:
    n = len(text_vectors)
    text = np.asarray([np.asarray(v, dtype=np.float32) for v in text_vectors], dtype=np.float32)
    image = np.zeros((n, image_dim), dtype=np.float32)
    has_image = np.zeros(n, dtype=bool)
    for i, vector in enumerate(image_vectors):
        if vector is not None and len(vector) == image_dim:
            image[i] = np.asarray(vector, dtype=np.float32)
            has_image[i] = True
    price_values = np.asarray([np.nan if p is None else float(p) for p in prices],
                              dtype=np.float64)
    has_price = np.isfinite(price_values)
    present = np.stack([np.ones(n, dtype=bool), has_image, has_price], axis=1)
    return ModelInputs(
        text=torch.from_numpy(text.reshape(n, -1)),
        image=torch.from_numpy(image),
        price=torch.from_numpy(price_scale.features(price_values)),
        present=torch.from_numpy(present))
