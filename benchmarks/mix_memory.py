"""Memory and time of learning the member weights (``training.mixing.fit_weights``): the
bagged grid search keeps every grid point's decisions for every out-of-fold product.

    .venv/bin/python benchmarks/mix_memory.py [--rows 10000] [--members 5] [--leaves 143]

Synthetic out-of-fold outputs (members that are right about 90 % of the time, over a
three-level taxonomy) stand in for a catalog of ``--rows`` cross-validated products, the
default being ``cv_max_products``. Prints how far the process's resident memory rose above
where it stood before the search (its peak, numpy's and torch's memory alike) and the
wall-clock time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def synthetic_outputs(rows: int, members: int, leaves: int, seed: int = 0
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray,
                                 list[str]]:
    rng = np.random.default_rng(seed)
    classes = [f"top{i % 6} > mid{i % 40} > leaf{i}" for i in range(leaves)]
    targets = rng.integers(leaves, size=rows)
    log_probs, present = {}, {}
    for m in range(members):
        logits = rng.normal(size=(rows, leaves))
        right = rng.random(rows) < 0.9
        logits[np.arange(rows), np.where(right, targets, rng.integers(leaves, size=rows))] += 4
        shifted = logits - logits.max(1, keepdims=True)
        log_probs[f"member{m}"] = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        present[f"member{m}"] = np.ones(rows)
    return log_probs, present, targets, classes


def resident_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--leaves", type=int, default=143)
    args = parser.parse_args()

    from catalog_ml.models.hierarchy import Hierarchy
    from catalog_ml.training import mixing

    log_probs, present, targets, classes = synthetic_outputs(args.rows, args.members,
                                                             args.leaves)
    hierarchy = Hierarchy.of(classes)
    names = tuple(log_probs)
    points = len(mixing.simplex(len(names), mixing.WEIGHT_STEPS))
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak to the present
    before = resident_kib("VmRSS")
    started = time.perf_counter()
    mix = mixing.fit_weights(log_probs, present, targets, names, hierarchy)
    seconds = time.perf_counter() - started
    peak = (resident_kib("VmHWM") - before) * 1024
    inputs = sum(a.nbytes for a in log_probs.values()) / 2**20
    print(f"{args.rows:,} rows x {len(names)} members x {args.leaves} leaves: "
          f"{points:,} grid points, {mixing.BAGS} bootstrap resamples")
    print(f"inputs {inputs:.0f} MiB; resident memory rose by {peak / 2**20:.0f} MiB; "
          f"{seconds:.1f} s")
    print("weights", {k: round(v, 3) for k, v in mix.weights.items()})


if __name__ == "__main__":
    main()
