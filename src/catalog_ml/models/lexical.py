"""The lexical member: TF-IDF over words and character n-grams of a product's text.

Product titles name their category in a few words ("... Men Navy Blue Shirt"), misspell it, or
glue words together; word and character n-grams catch what sentence embeddings blur. The
vocabularies and IDF weights are stored as JSON and arrays, not as a pickled vectoriser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

# The caps bound the artifact (coefficients are classes x features) on large catalogs; the
# fashion set's 5,000 products stay well below them.
WORD_OPTIONS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 2),
                                "sublinear_tf": True, "lowercase": True,
                                "max_features": 30_000}
CHAR_OPTIONS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5),
                                "sublinear_tf": True, "lowercase": True, "min_df": 2,
                                "max_features": 60_000}


def product_document(title: str | None, brand: str | None, description: str | None,
                     attributes: str | None) -> str:
    """One document per product: its text plus the dump's extra columns as ``key value``."""
    parts = [title or "", brand or "", description or ""]
    if attributes:
        try:
            extra = json.loads(attributes)
        except json.JSONDecodeError:
            extra = {}
        if isinstance(extra, dict):
            parts.extend(f"{key} {value}" for key, value in sorted(extra.items())
                         if value not in (None, ""))
    return " | ".join(p for p in parts if p)


def _restore(options: dict[str, Any], vocabulary: list[str], idf: np.ndarray) -> TfidfVectorizer:
    vectoriser = TfidfVectorizer(**{k: v for k, v in options.items()
                                    if k not in ("min_df", "max_features")},
                                 vocabulary={term: i for i, term in enumerate(vocabulary)})
    vectoriser.idf_ = idf
    return vectoriser


@dataclass
class TfidfFeatures:
    word: TfidfVectorizer
    char: TfidfVectorizer

    @classmethod
    def fit(cls, documents: list[str]) -> TfidfFeatures:
        char = TfidfVectorizer(**CHAR_OPTIONS)
        try:
            char.fit(documents)
        except ValueError:  # too few documents for min_df: keep every n-gram
            char = TfidfVectorizer(**{**CHAR_OPTIONS, "min_df": 1}).fit(documents)
        return cls(TfidfVectorizer(**WORD_OPTIONS).fit(documents), char)

    def transform(self, documents: list[str]) -> sparse.csr_matrix:
        return self.combine(self.word.transform(documents), documents)

    def combine(self, words: sparse.csr_matrix, documents: list[str]) -> sparse.csr_matrix:
        """Word features (already computed, e.g. for the fusion net) plus character n-grams."""
        return sparse.hstack([words, self.char.transform(documents)]).tocsr()

    def meta(self) -> dict[str, Any]:
        return {"word_vocabulary": self.word.get_feature_names_out().tolist(),
                "char_vocabulary": self.char.get_feature_names_out().tolist()}

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.word_idf": self.word.idf_.astype(np.float64),
                f"{prefix}.char_idf": self.char.idf_.astype(np.float64)}

    @classmethod
    def restore(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray],
                prefix: str) -> TfidfFeatures:
        return cls(_restore(WORD_OPTIONS, meta["word_vocabulary"], tensors[f"{prefix}.word_idf"]),
                   _restore(CHAR_OPTIONS, meta["char_vocabulary"], tensors[f"{prefix}.char_idf"]))
