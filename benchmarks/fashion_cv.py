"""The fashion acceptance run through the CLI: the 5,000 Myntra products with photos as one
labelled dump (title and photo only; ``--extra`` adds gender, colour, season and usage),
``catalog-ml nightly`` then ``catalog-ml train`` (5-fold cross-validation), and per level
every view of the model against TF-IDF + LR and frozen MiniLM + LR on the same folds.

    .venv/bin/python benchmarks/fashion_cv.py [--extra] [--products 5000] [--set NAME=VALUE]
                                              [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import add_run_options, night_train_report, work_folder

FASHION = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion_myntra"
EXTRA = {"gender": "gender", "baseColour": "colour", "season": "season", "usage": "usage"}


def fashion_path(frame: pd.DataFrame) -> pd.Series:
    """The label path of Myntra rows: masterCategory > subCategory > articleType."""
    return frame["masterCategory"] + " > " + frame["subCategory"] + " > " + frame["articleType"]


def write_dump(folder: Path, frame: pd.DataFrame, extra: bool) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    ids = frame["id"].astype(str)
    dump = pd.DataFrame({
        "product_id": ids, "title": frame["productDisplayName"],
        "image": "images/" + ids + ".jpg",
        "category": fashion_path(frame)})
    if extra:
        for source, column in EXTRA.items():
            dump[column] = frame[source]
    for product_id in ids:
        shutil.copy(FASHION / "images" / f"{product_id}.jpg", folder / "images")
    dump.to_parquet(folder / "products.parquet", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="store_true", help="add the attribute columns")
    parser.add_argument("--products", type=int, default=5000)
    add_run_options(parser)
    args = parser.parse_args()
    base = work_folder(FASHION, args.keep, "catalog-ml-fashion-")
    frame = pd.read_parquet(FASHION / "products.parquet")
    if args.products < len(frame):
        frame = frame.sample(n=args.products, random_state=3)
    write_dump(base / "labelled", frame, args.extra)
    night_train_report(base, len(frame), args.set)

if __name__ == "__main__":
    main()
