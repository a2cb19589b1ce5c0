"""Synthetic labelled products for the model and training tests: six leaves under two parents."""

import numpy as np

from catalog_ml.models.ensemble import ProductBatch
from catalog_ml.models.inputs import PriceScale, build_inputs
from catalog_ml.models.lexical import product_document
from catalog_ml.training.ensemble_trainer import LabelledProducts

WORDS = {0: "lamp", 1: "chair", 2: "table", 3: "sofa", 4: "rug", 5: "vase"}


def labelled(n: int = 360, seed: int = 0) -> tuple[LabelledProducts, PriceScale]:
    """Six leaves under two parents; the title names the leaf only sometimes (noisy), the
    embeddings carry it too, so members disagree and the ensemble has something to do."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(6, size=n)
    centres = rng.normal(size=(6, 12))
    text = centres[classes] + rng.normal(scale=1.2, size=(n, 12))
    image = [None if rng.random() < 0.3 else centres[c] + rng.normal(0, 1.0, 12)
             for c in classes]
    titles = [f"product {WORDS[c] if rng.random() < 0.6 else WORDS[rng.integers(6)]} {i}"
              for i, c in enumerate(classes)]
    scale = PriceScale.fit(np.array([1.0]))
    inputs = build_inputs(list(text), image, [None] * n, scale, 12)
    names = [f"{'Home' if c < 3 else 'Living'} > {WORDS[c].title()}" for c in classes]
    batch = ProductBatch(inputs, [product_document(t, None, None, None) for t in titles])
    return LabelledProducts(batch, names, [f"p{i}" for i in range(n)]), scale
