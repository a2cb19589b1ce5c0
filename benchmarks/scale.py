"""A catalog of a million products: a full night, an incremental night, and bounded training.

    .venv/bin/python benchmarks/scale.py [--products 1000000] [--changed 0.01]
                                         [--labelled 0.1] [--train-sample 20000] [--keep DIR]

The catalog is made here from the shared fashion titles (42,564 real titles of 143 article
types, text only): each product is a real title perturbed (a word dropped or two swapped, a
pack size, a size, a colour or a model code added), labelled with its source's category for a
share of the products, with a made-up price. Then, through the CLI, each with its wall time
and the peak RSS of the driver (the CLI's Python), the JVM and the Spark Python workers:

1. a bootstrap: a labelled night of 5,000 other products and a small ``train``, so the big
   nights have a champion to classify with;
2. the full night over all the products (every one embedded and classified);
3. an incremental night: the same catalog with ``--changed`` of the titles changed;
4. ``train`` on the big lake with ``train_max_products`` = ``--train-sample``: a stratified
   sample of the labelled products, read without loading the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets" / "fashion_myntra"
COLOURS = ("Black", "White", "Navy", "Olive", "Maroon", "Teal", "Beige", "Grey", "Mustard")
SIZES = ("XS", "S", "M", "L", "XL", "XXL", "28", "30", "32", "34", "UK 7", "UK 9")
CHUNK = 100_000
STAGES = ("generate", "bootstrap", "full", "incremental", "train")


def source_titles() -> pd.DataFrame:
    """The shared fashion catalog's titles with their 3-level category."""
    frames = [pd.read_parquet(SHARED / name) for name in
              ("products.parquet", "catalog_text_only.parquet")]
    rows = pd.concat(frames, ignore_index=True).dropna(subset=["productDisplayName"])
    rows["category"] = (rows["masterCategory"] + " > " + rows["subCategory"] + " > "
                        + rows["articleType"])
    return rows[["productDisplayName", "category"]].rename(columns={"productDisplayName": "title"})


def perturb(titles: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Each title changed a little, the way one shop's listings of one article differ."""
    out = []
    kinds = rng.integers(0, 6, len(titles))
    numbers = rng.integers(1, 9999, len(titles))
    for title, kind, number in zip(titles, kinds, numbers, strict=True):
        words = str(title).split()
        if kind == 0 and len(words) > 3:
            del words[int(number) % len(words)]
        elif kind == 1 and len(words) > 2:
            i = int(number) % (len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif kind == 2:
            words.append(f"Pack of {2 + int(number) % 4}")
        elif kind == 3:
            words.append(f"Size {SIZES[int(number) % len(SIZES)]}")
        elif kind == 4:
            words.insert(min(2, len(words)), COLOURS[int(number) % len(COLOURS)])
        else:
            words.append(f"{chr(65 + int(number) % 26)}{chr(65 + int(number) // 26 % 26)}-"
                         f"{number:04d}")
        out.append(" ".join(words))
    return out


def write_catalog(folder: Path, products: int, labelled: float, seed: int,
                  prefix: str = "p") -> Path:
    """A dump folder of ``products`` synthetic products, written in chunks."""
    source = source_titles()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    for start in range(0, products, CHUNK):
        n = min(CHUNK, products - start)
        picks = rng.integers(0, len(source), n)
        chunk = pd.DataFrame({
            "product_id": [f"{prefix}{i:08d}" for i in range(start, start + n)],
            "title": perturb(source["title"].to_numpy()[picks], rng),
            "price": np.round(rng.lognormal(7.0, 0.8, n), 2),
            "currency": "INR",
            "category": np.where(rng.random(n) < labelled,
                                 source["category"].to_numpy()[picks], None),
        })
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        writer = writer or pq.ParquetWriter(folder / "products.parquet", table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    (folder / "_SUCCESS").touch()
    return folder


def changed_catalog(source: Path, target: Path, share: float) -> int:
    """The same catalog with ``share`` of its titles changed (new content), the rest equal."""
    table = pq.read_table(source / "products.parquet")
    changed = max(1, round(table.num_rows * share))
    titles = table.column("title").to_pylist()
    for i in range(changed):
        titles[i] = titles[i] + " (new season)"
    table = table.set_column(table.schema.get_field_index("title"), "title",
                             pa.array(titles, pa.string()))
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target / "products.parquet")
    (target / "_SUCCESS").touch()
    return changed


def report(name: str, wall: float, products: int, peaks: dict[str, float],
           steps: dict[str, Any] | None = None) -> dict[str, Any]:
    line = f"{name}: {wall:.1f} s ({products / wall:.0f} products/s); peak RSS GiB {peaks}"
    if steps:
        line += "\n  " + ", ".join(f"{k} {v.get('seconds', 0):.1f} s" for k, v in steps.items())
    print(line, flush=True)
    return {"wall": round(wall, 1), "peaks_gib": peaks,
            "steps": {k: v.get("seconds") for k, v in (steps or {}).items()}}


def main() -> None:
    from benchmarks.cli_runs import environment
    from benchmarks.night import measured, nightly

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--labelled", type=float, default=0.1)
    parser.add_argument("--train-sample", type=int, default=20_000)
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help="which stages to run, in order, on the --keep folder (default: all)")
    args = parser.parse_args()
    stages = set(args.stages.split(","))
    if stages - set(STAGES):
        raise SystemExit(f"unknown stages {sorted(stages - set(STAGES))}; stages: {STAGES}")
    if not SHARED.exists():
        raise SystemExit(f"no data at {SHARED} (../shared beside the clone)")
    base = Path(args.keep or tempfile.mkdtemp(prefix="catalog-ml-scale-"))
    env = environment(base / "lake", ["cv_folds=2", "train_epochs=10"])
    result: dict[str, Any] = {"products": args.products}

    catalog, bootstrap = base / "catalog", base / "bootstrap"
    if "generate" in stages:
        started = time.perf_counter()
        write_catalog(catalog, args.products, args.labelled, seed=1)
        write_catalog(bootstrap, 5000, 1.0, seed=2, prefix="b")
        print(f"work folder {base}; {args.products:,} products written in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    if "bootstrap" in stages:
        wall, steps, peaks = nightly(env, bootstrap, "2026-10-01")
        result["bootstrap_night"] = report("bootstrap night (5,000 labelled)", wall, 5000,
                                           peaks, steps)
        wall, _, peaks = measured(env, "train")
        result["bootstrap_train"] = report("bootstrap train", wall, 5000, peaks)
    if "full" in stages:
        wall, steps, peaks = nightly(env, catalog, "2026-10-02")
        result["full_night"] = report("full night", wall, args.products, peaks, steps)
        (base / "full_night.json").write_text(json.dumps(result["full_night"]))
    if "incremental" in stages:
        full = json.loads((base / "full_night.json").read_text())["wall"]
        changed = changed_catalog(catalog, base / "changed", args.changed)
        wall, steps, peaks = nightly(env, base / "changed", "2026-10-03")
        result["incremental_night"] = report(
            f"incremental night ({changed:,} changed)", wall, args.products, peaks, steps)
        print(f"  = {wall / full:.3f}x the full night (aim: under 0.1x)", flush=True)
    if "train" in stages:
        train_env = {**env, "CATALOG_ML_TRAIN_MAX_PRODUCTS": str(args.train_sample)}
        wall, _, peaks = measured(train_env, "train")
        result["train"] = report(f"train (sample of {args.train_sample:,})", wall,
                                 args.train_sample, peaks)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
