"""Online latency of ``catalog-ml serve`` next to the bare model, in one run.

    .venv/bin/python benchmarks/serve_latency.py [--requests 60] [--batches 12] [--keep DIR]

Builds a lake with a champion from real fashion products (a labelled night, ``train``), starts
the server on loopback, then times, bounded in count and in time (``--budget-s``):

- single-product requests, text only and with an inline photo, one at a time (p50, p99, req/s);
- 32-product requests, text only and with photos (per-product throughput);
- eight clients sending single text-only products at once (micro-batching);

and, in this process, the bare model: encoders + ensemble on one product and on 32, without
HTTP, validation or caching. Every product is new (no cache hit). Loopback only; the server is
stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = str(Path(sys.executable).with_name("catalog-ml"))


def post(url: str, products: list[dict[str, Any]]) -> float:
    body = json.dumps({"products": products}).encode()
    request = urllib.request.Request(url + "/v1/classify", data=body,
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as reply:
        reply.read()
        if reply.status != 200:
            raise SystemExit(f"request failed: {reply.status}")
    return time.perf_counter() - started


def figures(name: str, seconds: list[float], per_request: int) -> dict[str, Any]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    total = sum(seconds)
    return {"case": name, "requests": len(seconds), "p50_ms": statistics.median(ordered) * 1e3,
            "p99_ms": p99 * 1e3, "req_per_s": len(seconds) / total,
            "ms_per_product": total / (len(seconds) * per_request) * 1e3}


def main() -> None:
    from tests.conftest import fashion_rows, write_fashion_dump
    from tests.servers import free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="single-product requests")
    parser.add_argument("--batches", type=int, default=12, help="32-product requests")
    parser.add_argument("--budget-s", type=float, default=300, help="stop measuring after")
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()

    base = Path(args.keep or tempfile.mkdtemp(prefix="catalog-ml-serve-"))
    rows = fashion_rows()
    common = rows["category"].value_counts().index[:8]
    rows = rows[rows["category"].isin(common)].sample(frac=1.0, random_state=2)
    labelled = write_fashion_dump(base / "labelled", rows.iloc[:200], labelled=True)
    pool = rows.iloc[200:200 + args.requests + args.batches * 32 + 64]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=str(base / "lake"), CATALOG_ML_SPARK_MASTER="local[2]",
               CATALOG_ML_CV_FOLDS="2", CATALOG_ML_TRAIN_EPOCHS="10")
    print(f"work folder {base}", flush=True)
    for command in (["nightly", "--dump", str(labelled), "--date", "2026-11-01"], ["train"]):
        subprocess.run([CLI, *command], env=env, check=True, capture_output=True)
    night = write_fashion_dump(base / "night", rows.iloc[-96:], labelled=True)
    done = subprocess.run([CLI, "nightly", "--dump", str(night), "--date", "2026-11-02"],
                          env=env, check=True, capture_output=True, text=True).stdout
    steps = {m.group(1): json.loads(m.group(2)).get("seconds", 0.0)
             for m in re.finditer(r"^\[[\d-]+\] (\w+): (\{.*\})$", done, re.M)}
    nightly_ms = (steps["embed"] + steps["classify"]) / 96 * 1e3

    images = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion_myntra"
    photos = [images / "images" / f"{i}.jpg" for i in pool["id"]]
    counter = iter(range(10**9))

    def product(with_photo: bool, index: int) -> dict[str, Any]:
        row = pool.iloc[index % len(pool)]
        item = {"product_id": f"b{next(counter)}",
                "title": f"{row['productDisplayName']} {next(counter)}",  # new: no cache hit
                "gender": row["gender"], "colour": row["baseColour"]}
        if with_photo:
            data = photos[index % len(photos)].read_bytes()
            item["image"] = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        return item

    # ---- the bare model, in this process
    import pandas as pd

    from catalog_ml.config import load_settings
    from catalog_ml.features.encoders import EncoderSpec, cached_encoders
    from catalog_ml.features.text import product_text
    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import champion
    from catalog_ml.pipeline.classify import classification_columns

    settings = load_settings(lake=str(base / "lake"))
    lake = Lake.from_settings(settings)
    model = champion(lake).load(lake)
    encoders = cached_encoders(EncoderSpec.from_settings(settings))

    def bare(items: list[dict[str, Any]], with_photo: bool) -> float:
        started = time.perf_counter()
        texts = [product_text(p["title"], None, None) for p in items]
        uris = [photos[i % len(photos)].as_uri() if with_photo else None
                for i in range(len(items))]
        vectors = encoders.encode_text(texts)
        image_vectors, _ = encoders.encode_images(uris)
        frame = pd.DataFrame({"product_id": [p["product_id"] for p in items],
                              "content_hash": ["h"] * len(items), "title": texts,
                              "text_vector": list(vectors), "image_vector": image_vectors,
                              "price": [None] * len(items)})
        classification_columns(model, frame, "bare", 0.5, 3, pd.Timestamp.now().date())
        return time.perf_counter() - started

    bare(
        [product(True, 0)], True)  # warm-up
    bare_rows = []
    for with_photo in (False, True):
        singles = [bare([product(with_photo, i)], with_photo) for i in range(20)]
        batch = [bare([product(with_photo, i * 32 + j) for j in range(32)], with_photo)
                 for i in range(3)]
        bare_rows.append({"case": f"bare model, {'photo' if with_photo else 'text only'}",
                          "single_ms": statistics.median(singles) * 1e3,
                          "batch32_ms_per_product": statistics.median(batch) / 32 * 1e3})

    # ---- the server
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (base / "serve.log").open("wb")
    server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    results = []
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5):
                    break
            except OSError:
                time.sleep(1)
        deadline = time.monotonic() + args.budget_s
        for with_photo in (False, True):
            post(url, [product(with_photo, 0)])  # warm-up
            name = "photo" if with_photo else "text only"
            singles = [post(url, [product(with_photo, i)]) for i in range(args.requests)
                       if time.monotonic() < deadline]
            results.append(figures(f"1 product, {name}", singles, 1))
            batches = [post(url, [product(with_photo, i * 32 + j) for j in range(32)])
                       for i in range(args.batches) if time.monotonic() < deadline]
            results.append(figures(f"32 products, {name}", batches, 32))
        with ThreadPoolExecutor(max_workers=8) as clients:
            started = time.perf_counter()
            concurrent = list(clients.map(lambda i: post(url, [product(False, i)]),
                                          range(args.requests)))
            wall = time.perf_counter() - started
        row = figures("1 product, text only, 8 clients at once", concurrent, 1)
        row["req_per_s"] = len(concurrent) / wall
        results.append(row)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    print(f"\n{'case':45} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} "
          f"{'ms/product':>10}")
    for r in results:
        print(f"{r['case']:45} {r['requests']:8d} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['req_per_s']:7.1f} {r['ms_per_product']:10.1f}")
    print(f"\n{'bare model (no HTTP, no validation)':45} {'1 product ms':>14} "
          f"{'32: ms/product':>15}")
    for r in bare_rows:
        print(f"{r['case']:45} {r['single_ms']:14.1f} {r['batch32_ms_per_product']:15.1f}")
    text_single = next(r for r in results if r["case"] == "1 product, text only")
    text_batch = next(r for r in results if r["case"] == "32 products, text only")
    print(f"\nratios: single text-only p50 / bare = "
          f"{text_single['p50_ms'] / bare_rows[0]['single_ms']:.2f}x (aim 2x); "
          f"32-product text-only ms per product / bare = "
          f"{text_batch['ms_per_product'] / bare_rows[0]['batch32_ms_per_product']:.2f}x")
    photo_batch = next(r for r in results if r["case"] == "32 products, photo")
    print(f"nightly embed+classify (96 products with photos, Spark local[2]): "
          f"{nightly_ms:.1f} ms per product; 32-product requests with photos / nightly = "
          f"{photo_batch['ms_per_product'] / nightly_ms:.2f}x (aim 1.5x)")
    print(json.dumps({"server": results, "bare": bare_rows, "nightly_ms_per_product":
                      nightly_ms}, default=float))


if __name__ == "__main__":
    main()
