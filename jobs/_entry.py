"""Shared argument handling of the spark-submit entry points (imported, never submitted)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from catalog_ml.config import Settings, load_settings


def run_job(step: Callable[[Settings, dt.date], dict[str, Any]], description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat,
                        help="the night, YYYY-MM-DD")
    parser.add_argument("--lake", help="lake root (default from settings)")
    parser.add_argument("--config", help="TOML settings file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    settings = load_settings(args.config, lake=args.lake)
    print(json.dumps(step(settings, args.date), default=str))
    sys.stdout.flush()
