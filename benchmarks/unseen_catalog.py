"""The acceptance protocol on products the model never saw: a labelled night, ``catalog-ml
train``, then a night of *unseen* products (their labels kept aside), all through the CLI.
Per level it prints the ensemble's answers on the unseen night against TF-IDF + LR and frozen
MiniLM + LR trained on the same labelled products, and how many unseen products the review
cut auto-accepted and how many of those were right.

    .venv/bin/python benchmarks/unseen_catalog.py --catalog fashion [--types 24]
        [--labelled 700] [--unseen 800] [--seed 1 | --seeds 1,2,3] [--set NAME=VALUE]
        [--keep DIR]

Catalogs, all from ../shared/datasets:
- ``fashion``: the Myntra products with photos (title and photo; ``--types N`` keeps the N
  commonest article types, an easy catalog);
- ``fashion-text``: the text-only Myntra table (titles only, up to 143 article types);
- ``toys``: ``amazon_uk_toys`` mapped as ``second_shop.py`` maps it (``--levels N`` cuts the
  paths).

The baselines are what a team would build in an afternoon on the same labelled products:
TF-IDF word 1-2-grams + LR (the report's tuned yardstick) and LR on the frozen MiniLM vectors
the night stored (C = 10, balanced), both judged on the same unseen products.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from deltalake import DeltaTable
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import add_run_options, environment, latest_report, run, work_folder
from fashion_cv import FASHION, fashion_path, write_dump
from second_shop import SOURCE as TOYS
from second_shop import as_dump as toys_dump

from catalog_ml.taxonomy import depth, truncate
from catalog_ml.training.baseline import baseline_predictions

LABELLED_NIGHT, UNSEEN_NIGHT = "2026-11-01", "2026-11-02"


def commonest_types(frame: pd.DataFrame, types: int) -> pd.DataFrame:
    """The rows of the ``types`` commonest article types (all rows for 0)."""
    if not types:
        return frame
    return frame[frame["articleType"].isin(frame["articleType"].value_counts().index[:types])]


def fashion_catalog(types: int) -> pd.DataFrame:
    return commonest_types(pd.read_parquet(FASHION / "products.parquet"), types)


def fashion_text_catalog(types: int) -> pd.DataFrame:
    frame = commonest_types(pd.read_parquet(FASHION / "catalog_text_only.parquet").dropna(
        subset=["productDisplayName", "articleType"]), types)
    return pd.DataFrame({"product_id": "t" + frame["id"].astype(str),
                         "title": frame["productDisplayName"], "category": fashion_path(frame)})


def toys_catalog(levels: int) -> pd.DataFrame:
    frame = pd.read_parquet(TOYS)
    frame = frame[frame["amazon_category_and_sub_category"].fillna("").str.strip() != ""]
    dump = toys_dump(frame)
    if levels:
        dump["category"] = dump["category"].str.split(" > ").str[:levels].str.join(" > ")
    return dump


def split(frame: pd.DataFrame, labelled: int, unseen: int, seed: int
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=seed)
    return shuffled.iloc[:labelled], shuffled.iloc[labelled:labelled + unseen]


def write(folder: Path, catalog: str, frame: pd.DataFrame, with_labels: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if catalog == "fashion":
        write_dump(folder, frame, extra=False)
        if not with_labels:
            dump = pd.read_parquet(folder / "products.parquet").drop(columns=["category"])
            dump.to_parquet(folder / "products.parquet", index=False)
        return
    dump = frame if with_labels else frame.drop(columns=["category"])
    dump.to_parquet(folder / "products.parquet", index=False)


def truth_of(catalog: str, frame: pd.DataFrame) -> pd.Series:
    if catalog == "fashion":
        return pd.Series(fashion_path(frame).to_numpy(), index=frame["id"].astype(str))
    return pd.Series(frame["category"].to_numpy(), index=frame["product_id"].astype(str))


def titles_of(catalog: str, frame: pd.DataFrame) -> pd.Series:
    column = "productDisplayName" if catalog == "fashion" else "title"
    ids = frame["id"] if catalog == "fashion" else frame["product_id"]
    return pd.Series(frame[column].fillna("").to_numpy(), index=ids.astype(str))


def text_vectors(lake: Path, ids: list[str]) -> np.ndarray:
    table = DeltaTable(str(lake / "embeddings")).to_pandas(
        columns=["product_id", "text_vector"])
    table = table.drop_duplicates("product_id", keep="last").set_index("product_id")
    return np.stack([np.asarray(v, dtype=np.float32) for v in table.loc[ids, "text_vector"]])


def minilm_lr(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray) -> list[str]:
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, train_y)
    return model.predict(test_x).tolist()


def at_level(paths: list[str] | pd.Series, level: int) -> list[str]:
    return [truncate(str(p), level) for p in paths]


def scores(truth: list[str], guess: list[str]) -> tuple[float, float]:
    accuracy = float(np.mean([t == g for t, g in zip(truth, guess, strict=True)]))
    return accuracy, float(f1_score(truth, guess, average="macro", zero_division=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", choices=("fashion", "fashion-text", "toys"),
                        default="fashion")
    parser.add_argument("--types", type=int, default=0,
                        help="fashion catalogs: keep the N commonest article types (0: all)")
    parser.add_argument("--levels", type=int, default=0, help="toys: cut paths to N levels")
    parser.add_argument("--labelled", type=int, default=700)
    parser.add_argument("--unseen", type=int, default=800)
    parser.add_argument("--seed", type=int, default=1, help="the split's seed")
    parser.add_argument("--seeds", help="several splits, e.g. 1,2,3: each run, then a summary "
                        "(one split's macro-F1 moves by a product or two in a rare category)")
    add_run_options(parser)
    args = parser.parse_args()
    source = {"fashion": FASHION, "fashion-text": FASHION, "toys": TOYS}[args.catalog]
    base = work_folder(source, args.keep, "catalog-ml-unseen-")
    frame = {"fashion": lambda: fashion_catalog(args.types),
             "fashion-text": lambda: fashion_text_catalog(args.types),
             "toys": lambda: toys_catalog(args.levels)}[args.catalog]()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    results = [one_split(args, frame, seed, base / f"seed{seed}" if len(seeds) > 1 else base)
               for seed in seeds]
    if len(results) > 1:
        summarise(seeds, results)


def one_split(args: argparse.Namespace, frame: pd.DataFrame, seed: int, base: Path
              ) -> dict[str, Any]:
    """The protocol on one split: labelled night, train, unseen night; prints and returns
    the per-level figures of the ensemble and both baselines and the review cut's outcome."""
    labelled, unseen = split(frame, args.labelled, args.unseen, seed)
    write(base / "labelled", args.catalog, labelled, with_labels=True)
    write(base / "unseen", args.catalog, unseen, with_labels=False)
    truth = truth_of(args.catalog, unseen)
    print(f"seed {seed}, work folder {base}; {len(labelled)} labelled, {len(unseen)} unseen, "
          f"{truth.nunique()} leaves among the unseen", flush=True)
    env = environment(base / "lake", args.set)
    timings = {}
    for name, command in (("labelled night", ("nightly", "--dump", str(base / "labelled"),
                                              "--date", LABELLED_NIGHT)),
                          ("train", ("train",)),
                          ("unseen night", ("nightly", "--dump", str(base / "unseen"),
                                            "--date", UNSEEN_NIGHT))):
        started = time.perf_counter()
        run(env, *command)
        timings[name] = round(time.perf_counter() - started, 1)
        print(f"{name}: {timings[name]} s", flush=True)

    answers = [json.loads(line) for line in run(
        env, "query", "--format", "json", "SELECT product_id, category, needs_review, "
        f"confidence FROM classifications WHERE run_date = DATE '{UNSEEN_NIGHT}'").splitlines()]
    answers = pd.DataFrame(answers).set_index("product_id").loc[truth.index]
    train_truth = truth_of(args.catalog, labelled)
    titles = titles_of(args.catalog, pd.concat([labelled, unseen]))
    all_titles = titles.tolist()
    n_train = len(labelled)
    tfidf = baseline_predictions(all_titles, [*train_truth.tolist(), *truth.tolist()],
                                 np.arange(n_train), np.arange(n_train, len(all_titles)))
    vectors = text_vectors(base / "lake", [*train_truth.index, *truth.index])
    minilm = minilm_lr(vectors[:n_train], train_truth.tolist(), vectors[n_train:])

    deepest = depth(truth.tolist())
    views = {"ensemble": answers["category"].tolist(), "TF-IDF + LR": tfidf,
             "MiniLM + LR": minilm}
    print(f"\n{len(truth)} unseen products, accuracy / macro-F1 per level:")
    print(f"{'level':8}" + "".join(f"{v:>20}" for v in views))
    figures: dict[str, dict[int, tuple[float, float]]] = {v: {} for v in views}
    for level in range(1, deepest + 1):
        cells = []
        for view, guesses in views.items():
            figures[view][level] = scores(at_level(truth, level), at_level(guesses, level))
            cells.append("{:.4f} / {:.4f}".format(*figures[view][level]))
        print(f"{level:<8}" + "".join(f"{c:>20}" for c in cells))
    below = not_above(figures)
    accepted = ~answers["needs_review"].astype(bool)
    right = answers["category"].to_numpy() == truth.to_numpy()
    precision = float(right[accepted.to_numpy()].mean()) if accepted.any() else float("nan")
    report = latest_report(env, base / "lake")
    print(f"\nreview threshold {report['review_threshold']:.3f}: {accepted.mean():.1%} of "
          f"the unseen auto-accepted, {precision:.3f} of them right "
          f"({int(accepted.sum())} products); out of fold "
          f"{report['out_of_fold']['review']['coverage']:.1%} at "
          f"{report['out_of_fold']['review']['precision']:.3f}")
    print("ensemble not above a baseline at: " + (", ".join(below) if below else "nothing"))
    result = {"timings_s": timings, "coverage": float(accepted.mean()),
              "precision": precision, "threshold": report["review_threshold"],
              "weights": report.get("weights"), "below": below,
              "levels": {v: {lv: list(f) for lv, f in figures[v].items()} for v in figures}}
    print(json.dumps(result))
    return result


def not_above(figures: dict[str, dict[int, tuple[float, float]]]) -> list[str]:
    """Where the ensemble's accuracy or macro-F1 is not above a baseline's, per level."""
    return [f"level {level} {metric} vs {view}" for view in figures if view != "ensemble"
            for level in figures[view] for i, metric in enumerate(("accuracy", "macro-F1"))
            if figures["ensemble"][level][i] <= figures[view][level][i]]


def summarise(seeds: list[int], results: list[dict[str, Any]]) -> None:
    """Per level, the mean over the splits of every view's figures, and per split where the
    ensemble was not above a baseline and what the review cut accepted."""
    views = list(results[0]["levels"])
    deepest = min(len(r["levels"]["ensemble"]) for r in results)
    print(f"\nmean over seeds {seeds}, accuracy / macro-F1 per level:")
    print(f"{'level':8}" + "".join(f"{v:>20}" for v in views))
    mean: dict[str, dict[int, tuple[float, float]]] = {
        v: {level: tuple(np.mean([r["levels"][v][level] for r in results], axis=0))
            for level in range(1, deepest + 1)} for v in views}
    for level in range(1, deepest + 1):
        print(f"{level:<8}" + "".join(f"{'{:.4f} / {:.4f}'.format(*mean[v][level]):>20}"
                                      for v in views))
    print("ensemble not above a baseline on the mean at: "
          + (", ".join(not_above(mean)) or "nothing"))
    for seed, r in zip(seeds, results, strict=True):
        print(f"seed {seed}: {r['coverage']:.1%} auto-accepted at {r['precision']:.3f}; not "
              f"above a baseline at: {', '.join(r['below']) or 'nothing'}")


if __name__ == "__main__":
    main()
