"""What the CLI benchmarks share: running ``catalog-ml`` in a clean environment and printing
a trained model's cross-validation per level and view, with its review threshold."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLI = str(Path(sys.executable).with_name("catalog-ml"))
VIEWS = ("ensemble", "baseline_tfidf_lr", "baseline_minilm_lr", "fusion_net", "text_only",
         "image_only")


def environment(lake: Path, settings: list[str] | None = None) -> dict[str, str]:
    """This process's environment without any CATALOG_ML_ setting, on ``lake``, plus the
    ``NAME=VALUE`` settings given (e.g. ``text_finetune=lora``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=str(lake), CATALOG_ML_SPARK_MASTER="local[2]")
    for setting in settings or []:
        name, _, value = setting.partition("=")
        env[f"CATALOG_ML_{name.strip().upper()}"] = value.strip()
    return env


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every CLI benchmark takes: settings for its runs, a folder to keep."""
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a catalog-ml setting for the run, e.g. text_finetune=lora")
    parser.add_argument("--keep", help="work folder to keep (default: a temporary one)")


def work_folder(source: Path, keep: str | None, prefix: str) -> Path:
    """The folder to work in, once the data at ``source`` is there."""
    if not source.exists():
        raise SystemExit(f"no data at {source} (../shared beside the clone)")
    return Path(keep or tempfile.mkdtemp(prefix=prefix))


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"catalog-ml {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    return done.stdout


def latest_report(env: dict[str, str], lake: Path) -> dict[str, Any]:
    models = [json.loads(line) for line in run(env, "models", "--format", "json").splitlines()]
    version = models[-1]["version"]
    return json.loads((lake / "artifacts" / "models" / version / "evaluation.json").read_text())


def print_report(report: dict[str, Any]) -> None:
    cv = report["cross_validation"]
    views = [v for v in VIEWS if v in cv] + sorted(set(cv) - set(VIEWS))
    print(f"\n{report['protocol']['cross_validated']} products cross-validated "
          f"({report['protocol']['folds']} folds), mean over folds, accuracy/macro-F1:")
    print(f"{'level':8}" + "".join(f"{v:>20}" for v in views))
    for level in cv["ensemble"]:
        cells = [f"{cv[v][level]['accuracy']['mean']:.4f}/{cv[v][level]['macro_f1']['mean']:.4f}"
                 if level in cv[v] else "-" for v in views]
        print(f"{level:8}" + "".join(f"{c:>20}" for c in cells))
    oof, holdout = report["out_of_fold"]["review"], report.get("holdout", {}).get("review", {})
    print(f"review threshold {report['review_threshold']:.3f}: out of fold "
          f"{oof['coverage']:.1%} accepted at {oof['precision']:.3f} precision; held out "
          f"{holdout.get('coverage', 0):.1%} at {holdout.get('precision', 0):.3f} "
          f"({holdout.get('products', 0)} products)")
    if "weights" in report:
        print(f"member weights {report['weights']}")
    print(json.dumps({"cv": {v: {lv: cv[v][lv]["accuracy"]["mean"] for lv in cv[v]}
                             for v in views},
                      "review": {"out_of_fold": oof, "holdout": holdout}}))


def night_train_report(base: Path, products: int, settings: list[str] | None = None) -> None:
    """The labelled dump at ``base/labelled`` through ``nightly`` and ``train`` on a lake at
    ``base/lake``, timed, then the model's report."""
    env = environment(base / "lake", settings)
    print(f"work folder {base}; {products} labelled products", flush=True)
    started = time.perf_counter()
    run(env, "nightly", "--dump", str(base / "labelled"), "--date", "2026-11-01")
    print(f"labelled night: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    run(env, "train")
    print(f"train: {time.perf_counter() - started:.1f} s", flush=True)
    print_report(latest_report(env, base / "lake"))
