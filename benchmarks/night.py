"""A whole night against its own models, in one run: where the time goes, and what it costs.

    .venv/bin/python benchmarks/night.py [--products 5000] [--keep DIR] [--skip-incremental]
                                         [--device auto|cpu|cuda] [--spark-master local[2]]
                                         [--driver-max-products N] [--no-worker]

On real fashion products with photos (``../shared``), with a champion trained first on other
products:

1. **bare models**: the text encoder over the products' texts and the image encoder over their
   photos in a plain loop in this process (decode included; model load timed apart);
2. **the night**: ``catalog-ml nightly`` on the same products, per step, with the peak RSS of
   the driver (the CLI's Python), the JVM and the Spark Python workers, sampled every 0.2 s;
3. **incremental nights**: the same catalog with 1 % and 10 % of the products changed (a new
   title), the rest unchanged, so only the changed ones are embedded.

A second round follows in the same run (``--no-worker``: the cold round only), as the
deployed stack runs nights (``catalog-ml stack up`` starts a worker): the catalog with every
title changed (all new content), its bare models, then the same three nights sent to a
resident ``catalog-ml worker`` (its start is timed apart): the same commands without a cold
process's imports and model load. There the driver's peak RSS is the worker's, which lives
across nights.

Prints products/s per step, the night's ratio to the bare models, and the rest of the time
(Spark start, model load, validation, writes and commits) as the night minus its model time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = str(Path(sys.executable).with_name("catalog-ml"))
STEPS = ("validate", "ingest", "embed", "classify", "report")


class PeakMemory:
    """Peak RSS of a process tree, by role, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peaks = {"driver": 0, "jvm": 0, "python workers": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            totals = {"driver": 0, "jvm": 0, "python workers": 0}
            for process in tree:
                try:
                    rss = process.memory_info().rss
                    name = process.name()
                except psutil.Error:
                    continue
                role = ("driver" if process.pid == self.root.pid else
                        "jvm" if name == "java" else "python workers")
                totals[role] += rss
            for role, value in totals.items():
                self.peaks[role] = max(self.peaks[role], value)

    def done(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join(timeout=2)
        return {role: round(value / 2**30, 2) for role, value in self.peaks.items()}


def measured(env: dict[str, str], *args: str) -> tuple[float, str, dict[str, float]]:
    """``catalog-ml ARGS``: wall seconds, stdout and the peak RSS of its process tree (of the
    resident worker's, when ``WORKER_PID`` names one)."""
    started = time.monotonic()
    process = subprocess.Popen([CLI, *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(int(env.get("WORKER_PID") or process.pid))
    out, err = process.communicate()
    wall = time.monotonic() - started
    peaks = memory.done()
    if process.returncode:
        raise SystemExit(f"catalog-ml {' '.join(args)} failed:\n{err[-3000:]}")
    return wall, out, peaks


def nightly(env: dict[str, str], dump: Path, night: str) -> tuple[float, dict[str, Any],
                                                                    dict[str, float]]:
    wall, out, peaks = measured(env, "nightly", "--dump", str(dump), "--date", night)
    steps = {m.group(1): json.loads(m.group(2))
             for m in re.finditer(r"^\[[\d-]+\] (\w+): (\{.*\})$", out, re.M)
             if m.group(1) in STEPS}
    return wall, steps, peaks


def bare_models(env: dict[str, str], dump: Path) -> dict[str, float]:
    """The encoders alone over the dump's products (decode included), as the night would."""
    import pandas as pd

    from catalog_ml.config import load_settings
    from catalog_ml.features.encoders import Encoders, EncoderSpec
    from catalog_ml.features.runtime import set_threads
    from catalog_ml.features.text import product_text

    frame = pd.read_parquet(dump / "products.parquet")
    texts = [product_text(t, None, None) for t in frame["title"]]
    uris = [(dump / p).resolve().as_uri() for p in frame["image"]]
    settings = load_settings(lake=env["CATALOG_ML_LAKE"], device=env["CATALOG_ML_DEVICE"])
    set_threads(1)  # one process with every core's threads: the fastest plain loop here
    started = time.perf_counter()
    encoders = Encoders(EncoderSpec.from_settings(settings))
    load = time.perf_counter() - started
    started = time.perf_counter()
    encoders.encode_text(texts)
    text = time.perf_counter() - started
    started = time.perf_counter()
    encoders.encode_images(uris)
    image = time.perf_counter() - started
    return {"load": load, "text": text, "image": image, "total": text + image}


def start_worker(env: dict[str, str], base: Path) -> tuple[subprocess.Popen[str], float]:
    """``catalog-ml worker`` on a socket in the work folder, once it says it is ready."""
    env["CATALOG_ML_WORKER_SOCKET"] = str(base / "worker" / "worker.sock")
    started = time.perf_counter()
    worker = subprocess.Popen([CLI, "worker"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert worker.stdout is not None
    for line in worker.stdout:
        if "ready on" in line:
            env["WORKER_PID"] = str(worker.pid)
            return worker, time.perf_counter() - started
    raise SystemExit(f"catalog-ml worker exited with {worker.wait()} before it was ready")


def changed_copy(source: Path, target: Path, share: float) -> int:
    """The dump with ``share`` of its titles changed (new content); photos hard-linked (a
    symbolic link out of the dump folder is refused, as it should be)."""
    import pandas as pd

    frame = pd.read_parquet(source / "products.parquet")
    changed = max(1, round(len(frame) * share))
    frame.loc[:changed - 1, "title"] = frame.loc[:changed - 1, "title"] + " (new season)"
    target.mkdir(parents=True, exist_ok=True)
    if not (target / "images").exists():
        shutil.copytree(source / "images", target / "images", copy_function=os.link)
    frame.to_parquet(target / "products.parquet", index=False)
    (target / "_SUCCESS").touch()
    return changed


def main() -> None:
    args = parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="catalog-ml-night-"))
    try:
        run(args, base)
    finally:
        if not args.keep:  # ~80 MB of lake and photo copies per run
            shutil.rmtree(base, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--driver-max-products", type=int, default=None,
                        help="the setting of that name (0: every step on Spark)")
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=True,
                        help="then the same nights again through a resident `catalog-ml "
                        "worker`, as `catalog-ml stack up` runs them (default: on)")
    return parser.parse_args()


def run(args: argparse.Namespace, base: Path) -> None:
    from tests.conftest import fashion_rows, write_fashion_dump

    rows = fashion_rows().sample(frac=1.0, random_state=4)
    common = rows["category"].value_counts()
    rows = rows[rows["category"].isin(common[common >= 20].index)]
    n = min(args.products, len(rows) - 300)
    labelled = write_fashion_dump(base / "labelled", rows.iloc[:300], labelled=True)
    tonight = write_fashion_dump(base / "night", rows.iloc[300:300 + n], labelled=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=str(base / "lake"), CATALOG_ML_SPARK_MASTER=args.spark_master,
               CATALOG_ML_DEVICE=args.device, CATALOG_ML_CV_FOLDS="2",
               CATALOG_ML_TRAIN_EPOCHS="10")
    if args.driver_max_products is not None:
        env["CATALOG_ML_DRIVER_MAX_PRODUCTS"] = str(args.driver_max_products)
    print(f"work folder {base}; {n} products with photos", flush=True)
    nightly(env, labelled, "2026-11-01")
    started = time.perf_counter()
    subprocess.run([CLI, "train"], env=env, check=True, capture_output=True)
    print(f"train on 300 labelled products: {time.perf_counter() - started:.1f} s", flush=True)

    rounds = [("cold: a new catalog-ml process per night", tonight,
               ("2026-11-02", "2026-11-03", "2026-11-04"))]
    if args.worker:  # every title changed: the worker's full night embeds everything again
        rounds.append(("resident worker", retitled(tonight, base / "night-worker"),
                       ("2026-11-05", "2026-11-06", "2026-11-07")))
    results = {}
    for mode, dump, nights in rounds:
        print(f"\n== {mode}")
        bare = bare_models(env, dump)
        worker = None
        if mode == "resident worker":
            worker, start = start_worker(env, base)
            print(f"resident worker ready in {start:.1f} s (imports and encoders, once)")
        try:
            results[mode.split(":")[0]] = measure_nights(args, env, dump, n, bare, nights)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(30)
    print("\nsummary (aims: a night within 1.25x its bare models; a 10 % night within 0.2x "
          "the full night):")
    for mode, figures in results.items():
        ratio = figures["night_wall"] / figures["bare"]["total"]
        tenth = figures.get("incremental_0.10", {}).get("wall")
        print(f"  {mode:16} night {ratio:.2f}x the bare models" + (
            f"; 10 % night {tenth / figures['night_wall']:.2f}x the full night" if tenth else ""))
    print(json.dumps(results, default=float))


def retitled(source: Path, target: Path) -> Path:
    """The dump with every title changed (all new content), photos hard-linked."""
    import pandas as pd

    frame = pd.read_parquet(source / "products.parquet")
    frame["title"] = frame["title"] + " (worker round)"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / "images", target / "images", copy_function=os.link)
    frame.to_parquet(target / "products.parquet", index=False)
    (target / "_SUCCESS").touch()
    return target


def measure_nights(args: argparse.Namespace, env: dict[str, str], tonight: Path, n: int,
                   bare: dict[str, float], nights: tuple[str, str, str]) -> dict[str, Any]:
    wall, steps, peaks = nightly(env, tonight, nights[0])
    model_time = bare["total"]
    print(f"bare models ({n} products): text {bare['text']:.1f} s, image "
          f"{bare['image']:.1f} s, total {model_time:.1f} s ({n / model_time:.1f} products/s);"
          f" model load {bare['load']:.1f} s")
    print(f"the night: {wall:.1f} s wall ({n / wall:.1f} products/s), {wall / model_time:.2f}x "
          "the bare models' time (aim: within 1.25x)")
    for step in STEPS:
        seconds = steps.get(step, {}).get("seconds", 0.0)
        print(f"  {step:9} {seconds:7.1f} s  {n / max(seconds, 1e-9):8.1f} products/s")
    step_sum = sum(s.get("seconds", 0.0) for s in steps.values())
    print(f"  outside the steps (process start, imports, Spark start): {wall - step_sum:.1f} s;"
          f" embed minus model time: {steps['embed']['seconds'] - model_time:.1f} s")
    print(f"  peak RSS (GiB): {peaks}")
    result: dict[str, Any] = {"products": n, "bare": bare, "night_wall": wall,
                              "steps": {k: v.get("seconds") for k, v in steps.items()},
                              "peaks_gib": peaks}
    if not args.skip_incremental:
        for share, night in zip((0.01, 0.10), nights[1:], strict=True):
            dump = tonight.parent / f"night-{night}"
            changed = changed_copy(tonight, dump, share)
            inc_wall, inc_steps, inc_peaks = nightly(env, dump, night)
            print(f"incremental night, {share:.0%} changed ({changed} products): "
                  f"{inc_wall:.1f} s = {inc_wall / wall:.2f}x the full night (aim for 10 %: "
                  f"0.2x; embed {inc_steps['embed']['seconds']:.1f} s, "
                  f"{inc_steps['embed'].get('embedded')} embedded); peak RSS {inc_peaks}")
            result[f"incremental_{share:.2f}"] = {"wall": inc_wall, "changed": changed,
                                                  "steps": {k: v.get("seconds")
                                                            for k, v in inc_steps.items()}}
    return result


if __name__ == "__main__":
    main()
