"""A second shop through the CLI: ``amazon_uk_toys`` mapped to the dump contract, one labelled
night, ``catalog-ml train``, and per level the ensemble against TF-IDF + LR and frozen MiniLM +
LR on the same folds, with the review threshold's coverage and precision.

    .venv/bin/python benchmarks/second_shop.py [--labelled 700] [--keep DIR]

The export's columns are mapped as a user with another shop would: ``uniq_id`` -> product_id,
``product_name`` -> title, ``manufacturer`` -> brand, ``price`` (GBP, empty = unknown) ->
price and currency, the label path -> category; the review and stock columns stay as extra
columns (they reach the model as words). Unlabelled rows are left out of the labelled night.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "datasets" / "amazon_uk_toys" / "products.parquet"
CLI = str(Path(sys.executable).with_name("catalog-ml"))
EXTRA = ["number_available_in_stock", "number_of_reviews", "number_of_answered_questions",
         "average_review_rating"]


def as_dump(frame: pd.DataFrame) -> pd.DataFrame:
    price = frame["price"].where(frame["price"].fillna("").str.strip() != "", None)
    return pd.DataFrame({
        "product_id": frame["uniq_id"], "title": frame["product_name"],
        "brand": frame["manufacturer"], "price": price,
        "currency": price.where(price.isna(), "GBP"),
        "category": frame["amazon_category_and_sub_category"],
        **{column: frame[column] for column in EXTRA}})


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"catalog-ml {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=int, default=700,
                        help="labelled products to train on (0: all 9,310)")
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    if not SOURCE.exists():
        raise SystemExit(f"no data at {SOURCE} (../shared beside the clone)")
    base = Path(args.keep or tempfile.mkdtemp(prefix="catalog-ml-shop-"))
    frame = pd.read_parquet(SOURCE)
    labelled = frame[frame["amazon_category_and_sub_category"].fillna("").str.strip() != ""]
    if args.labelled:
        labelled = labelled.sample(n=min(args.labelled, len(labelled)), random_state=11)
    (base / "labelled").mkdir(parents=True, exist_ok=True)
    as_dump(labelled).to_csv(base / "labelled" / "products.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=str(base / "lake"), CATALOG_ML_SPARK_MASTER="local[2]")
    print(f"work folder {base}; {len(labelled)} labelled products", flush=True)
    started = time.perf_counter()
    run(env, "nightly", "--dump", str(base / "labelled"), "--date", "2026-11-01")
    print(f"labelled night: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    run(env, "train")
    print(f"train: {time.perf_counter() - started:.1f} s", flush=True)
    models = [json.loads(line) for line in run(env, "models", "--format", "json").splitlines()]
    version = models[-1]["version"]
    report = json.loads((base / "lake" / "artifacts" / "models" / version
                         / "evaluation.json").read_text())
    cv = report["cross_validation"]
    views = ["ensemble", "baseline_tfidf_lr", "baseline_minilm_lr", "fusion_net", "text_only"]
    print(f"\n{report['protocol']['cross_validated']} products cross-validated "
          f"({report['protocol']['folds']} folds), mean over folds:")
    print(f"{'level':8}" + "".join(f"{v:>22}" for v in views))
    for level in cv["ensemble"]:
        cells = [f"{cv[v][level]['accuracy']['mean']:.3f}/{cv[v][level]['macro_f1']['mean']:.3f}"
                 if v in cv else "-" for v in views]
        print(f"{level:8}" + "".join(f"{c:>22}" for c in cells))
    print("(accuracy/macro-F1)")
    oof, holdout = report["out_of_fold"]["review"], report.get("holdout", {}).get("review", {})
    print(f"review threshold {report['review_threshold']:.3f}: out of fold "
          f"{oof['coverage']:.1%} accepted at {oof['precision']:.3f} precision; held out "
          f"{holdout.get('coverage', 0):.1%} at {holdout.get('precision', 0):.3f} "
          f"({holdout.get('products', 0)} products)")
    print(json.dumps({"cv": {v: {lv: cv[v][lv]["accuracy"]["mean"] for lv in cv[v]}
                             for v in views if v in cv},
                      "review": {"out_of_fold": oof, "holdout": holdout}}))


if __name__ == "__main__":
    main()
