"""A second shop through the CLI: ``amazon_uk_toys`` mapped to the dump contract, one labelled
night, ``catalog-ml train``, and per level the ensemble against TF-IDF + LR and frozen MiniLM +
LR on the same folds, with the review threshold's coverage and precision.

    .venv/bin/python benchmarks/second_shop.py [--labelled 700] [--levels N] [--set NAME=VALUE]
                                               [--keep DIR]

The export's columns are mapped as a user with another shop would: ``uniq_id`` -> product_id,
``product_name`` -> title, ``manufacturer`` -> brand, ``price`` (GBP, empty = unknown) ->
price and currency, the label path -> category; the review and stock columns stay as extra
columns (they reach the model as words). Unlabelled rows are left out of the labelled night.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import add_run_options, night_train_report, work_folder

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "datasets" / "amazon_uk_toys" / "products.parquet"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=int, default=700,
                        help="labelled products to train on (0: all 9,310)")
    parser.add_argument("--levels", type=int, default=0,
                        help="keep only the top N levels of each label path (0: all): a "
                        "shallower shop from the same products")
    add_run_options(parser)
    args = parser.parse_args()
    base = work_folder(SOURCE, args.keep, "catalog-ml-shop-")
    frame = pd.read_parquet(SOURCE)
    labelled = frame[frame["amazon_category_and_sub_category"].fillna("").str.strip() != ""]
    if args.labelled:
        labelled = labelled.sample(n=min(args.labelled, len(labelled)), random_state=11)
    if args.levels:
        labelled = labelled.assign(amazon_category_and_sub_category=labelled[
            "amazon_category_and_sub_category"].str.split(" > ").str[:args.levels].str.join(
            " > "))
    (base / "labelled").mkdir(parents=True, exist_ok=True)
    as_dump(labelled).to_csv(base / "labelled" / "products.csv", index=False)
    night_train_report(base, len(labelled), args.set)

if __name__ == "__main__":
    main()
