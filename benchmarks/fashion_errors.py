"""Where the fashion leaf's errors lie: plain members, their mixes, a stacker, footwear.

    .venv/bin/python benchmarks/fashion_errors.py   # ~4 min here (the photos' vectors first)

An offline probe beside `fashion_cv.py` (which runs the product's own `train`): the shared
fashion set's article types with at least 5 products, the same 5 folds for every view, and
three members fitted with scikit-learn on the project's own encoders' vectors:
- TF-IDF + LR on the titles;
- LR on the text vectors;
- LR on the image vectors.
It prints each member's accuracy and macro-F1, then:
- the best global log-probability mix, optimistic because it is chosen on the same predictions;
- a stacked LR over the members' log-probabilities, in nested folds;
- the most frequent confusions;
- how each member does within the footwear groups the title misleads on;
- how the titles that say "Flats" or "Sandal" are labelled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FASHION = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion_myntra"
GROUPS = (("Flats", "Heels"), ("Sandals", "Flip Flops", "Sports Sandals"),
          ("Casual Shoes", "Sports Shoes", "Formal Shoes"))


def main() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_union

    from catalog_ml.config import load_settings
    from catalog_ml.features.encoders import Encoders, EncoderSpec

    frame = pd.read_parquet(FASHION / "products.parquet")
    counts = frame["articleType"].value_counts()
    frame = frame[frame["articleType"].isin(counts[counts >= 5].index)].reset_index(drop=True)
    titles = frame["productDisplayName"].fillna("").tolist()
    classes = sorted(frame["articleType"].unique())
    y = frame["articleType"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    print(f"{len(frame)} products, {len(classes)} article types; encoding ...", flush=True)
    encoders = Encoders(EncoderSpec.from_settings(load_settings()))
    text = np.asarray(encoders.encode_text(titles))
    image = np.asarray(encoders.encode_images(
        [str(FASHION / "images" / f"{i}.jpg") for i in frame["id"]])[0])
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(titles, y))

    def out_of_fold(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        predicted = np.full((len(y), len(classes)), 1e-9)
        for train, test in folds:
            predicted[test] = fit_predict(train, test)
        return np.log(np.clip(predicted, 1e-9, 1))

    def probabilities(model: LogisticRegression, features: Any) -> np.ndarray:
        """Over every class, also those a fold's training products lack."""
        out = np.full((features.shape[0], len(classes)), 1e-9)
        out[:, model.classes_] = model.predict_proba(features)
        return out

    def linear(features: np.ndarray, strength: float):
        def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
            model = LogisticRegression(C=strength, max_iter=2000).fit(features[train], y[train])
            return probabilities(model, features[test])
        return fit_predict

    def lexical(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        vectoriser = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
        words = vectoriser.fit_transform([titles[i] for i in train])
        model = LogisticRegression(C=20, max_iter=2000).fit(words, y[train])
        return probabilities(model, vectoriser.transform([titles[i] for i in test]))

    members = {"tfidf": out_of_fold(lexical), "text": out_of_fold(linear(text, 10.0)),
               "image": out_of_fold(linear(image, 1.0))}

    def report(name: str, predicted: np.ndarray) -> None:
        print(f"{name:34} accuracy {np.mean(predicted == y):.4f}  macro-F1 "
              f"{f1_score(y, predicted, average='macro'):.4f}", flush=True)

    for name, log_probs in members.items():
        report(name, log_probs.argmax(1))
    names = list(members)
    mixes = [c for c in itertools.product(range(11), repeat=len(names)) if sum(c) == 10]
    best = max(mixes, key=lambda c: np.mean(
        sum(w / 10 * members[n] for w, n in zip(c, names, strict=True)).argmax(1) == y))
    mixed = sum(w / 10 * members[n] for w, n in zip(best, names, strict=True)).argmax(1)
    report(f"best global mix {best} (optimistic)", mixed)
    stacked_features = np.hstack([members[n] for n in names])
    for strength in (0.03, 0.1, 0.3, 1.0):
        stacked = np.zeros(len(y), dtype=int)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=1).split(
                stacked_features, y):
            model = LogisticRegression(C=strength, max_iter=3000).fit(
                stacked_features[train], y[train])
            stacked[test] = model.classes_[model.predict_proba(stacked_features[test]).argmax(1)]
        report(f"stacked LR over the members, C={strength}", stacked)

    names_of = np.asarray(classes)
    wrong = pd.DataFrame({"label": names_of[y], "mix": names_of[mixed]})[mixed != y]
    print("\nmost frequent confusions of the mix (label -> answer):")
    print(wrong.value_counts().head(12).to_string())
    print("\nwithin each footwear group, the share each member gets right of the group's "
          "own classes:")
    for group in GROUPS:
        inside = np.isin(names_of[y], group)
        columns = [classes.index(g) for g in group]
        shares = {n: np.mean(np.asarray(columns)[members[n][inside][:, columns].argmax(1)]
                             == y[inside]) for n in names}
        print(f"  {' / '.join(group)} ({inside.sum()}): "
              + ", ".join(f"{n} {v:.2f}" for n, v in shares.items()))
    print("\nhow titles that name a type are labelled:")
    for word in ("Flats", "Heels", "Sandal", "Slipper"):
        says = frame["productDisplayName"].str.contains(word, case=False, na=False)
        print(f"  '{word}' ({says.sum()}): "
              f"{frame.loc[says, 'articleType'].value_counts().head(4).to_dict()}")


if __name__ == "__main__":
    main()
