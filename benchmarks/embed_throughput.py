"""Embedding throughput: the encoders in a plain loop vs. the Spark embed step, same products.

    .venv/bin/python benchmarks/embed_throughput.py [--rows 600] [--precision auto]

Prints products per second for each and their ratio (Spark overhead), measured in one run so
that machine noise affects both alike. Uses the generated demo catalog (photos included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    args = parser.parse_args()

    import torch

    from catalog_ml.config import load_settings
    from catalog_ml.demo.sample import generate_dump
    from catalog_ml.features.encoders import Encoders, EncoderSpec
    from catalog_ml.features.text import product_text
    from catalog_ml.lake import Lake
    from catalog_ml.pipeline.nightly import run_step

    work = Path(tempfile.mkdtemp(prefix="catalog-ml-bench-"))
    night = dt.date(2026, 1, 1)
    dump = generate_dump(work / "dump", args.rows, seed=1, labelled=False)
    settings = load_settings(lake=str(work / "lake"), precision=args.precision)
    run_step("validate", settings, night, str(dump))
    run_step("ingest", settings, night)
    products = Lake(settings.lake).read("product_snapshots").to_pylist()

    torch.set_num_threads(torch.get_num_threads())
    started = time.perf_counter()
    encoders = Encoders(EncoderSpec.from_settings(settings))
    loaded = time.perf_counter()
    encoders.encode_text([product_text(p["title"], p["brand"], p["description"])
                          for p in products])
    encoders.encode_images([p["image_uri"] for p in products])
    plain_compute = time.perf_counter() - loaded
    plain_total = time.perf_counter() - started

    started = time.perf_counter()
    result = run_step("embed", settings, night)
    spark_total = time.perf_counter() - started

    n = len(products)
    print(f"products: {n} (photos: {sum(1 for p in products if p['image_uri'])}), "
          f"precision {args.precision}, torch threads {torch.get_num_threads()}")
    print(f"plain loop: {n / plain_compute:7.1f} products/s compute, "
          f"{plain_total:6.1f} s with model loading")
    print(f"spark step: {n / spark_total:7.1f} products/s, {spark_total:6.1f} s end to end "
          f"(embedded {result.embedded}, Spark start included)")
    print(f"ratio spark/plain (end to end): {spark_total / plain_total:.2f}x")


if __name__ == "__main__":
    main()
