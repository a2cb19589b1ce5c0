"""Shared argument handling of the spark-submit entry points (imported, never submitted)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

from catalog_ml.cli import Parser, guarded
from catalog_ml.config import load_settings


def run_job(step: str, description: str) -> None:
    """Parse --date/--lake/--config, run one step of the night under the lake's writer lock,
    print its result as JSON; exit with catalog-ml's codes (2 data, 64 usage, ...)."""
    parser = Parser(description=description)
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat,
                        help="the night, YYYY-MM-DD")
    parser.add_argument("--lake", help="lake root (default from settings)")
    parser.add_argument("--config", help="TOML settings file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)

    def run() -> int:
        from catalog_ml.pipeline.nightly import run_step

        settings = load_settings(args.config, lake=args.lake)
        print(json.dumps(run_step(step, settings, args.date), default=str), flush=True)
        return 0

    sys.exit(guarded(run, prog=f"catalog-ml {step}"))
