"""The ``catalog-ml`` command: nightly, train, query, models, demo.

Exit codes: 0 done, 2 the night was stopped by a data problem (the message names it),
1 anything else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from catalog_ml.config import Settings, load_settings

QUIET_LOGGERS = ("py4j", "great_expectations", "urllib3", "httpx", "transformers")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), lake=getattr(args, "lake", None))


def _print_table(table: Any, fmt: str) -> None:
    rows = table.to_pylist()
    if fmt == "json":
        for row in rows:
            print(json.dumps(row, default=str, ensure_ascii=False))
        return
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(table.column_names)
        writer.writerows([[row[c] for c in table.column_names] for row in rows])
        return
    import pandas as pd

    with pd.option_context("display.max_columns", None, "display.width", 160,
                           "display.max_colwidth", 60):
        print(table.to_pandas().to_string(index=False) if rows else "(no rows)")


def cmd_nightly(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.pipeline.nightly import run_night
    from catalog_ml.query import night_summary

    settings = _settings(args)

    def show(step: str, result: dict[str, Any]) -> None:
        shown = {k: v for k, v in result.items() if k not in ("night",)}
        print(f"[{args.date}] {step}: {json.dumps(shown, default=str)}", flush=True)

    run_night(settings, args.date, dump_dir=args.dump, on_step=show)
    summary = night_summary(Lake.from_settings(settings), args.date)
    print(f"[{args.date}] summary: {json.dumps(summary, default=str)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.train import train_from_lake

    settings = _settings(args)
    if args.epochs:
        settings = settings.replace(train_epochs=args.epochs)

    def progress(epoch: int, figures: dict[str, float]) -> None:
        if epoch % 5 == 0 or epoch == 1:
            print(f"epoch {epoch}: loss {figures['loss']:.3f}, "
                  f"validation accuracy {figures['val_accuracy']:.3f}", flush=True)

    result = train_from_lake(settings, progress=progress)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.query import run_query

    settings = _settings(args)
    _print_table(run_query(Lake.from_settings(settings), args.sql), args.format)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.query import run_query

    settings = _settings(args)
    table = run_query(Lake.from_settings(settings), """
        SELECT version, status, created_at, n_train, n_classes, encoder_version,
               json_extract(metrics, '$.validation') AS validation
        FROM models ORDER BY created_at""")
    _print_table(table, "table")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from catalog_ml.config import Settings
    from catalog_ml.contracts import write_contracts

    for path in write_contracts(Settings()):
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from catalog_ml.demo import run_demo

    return run_demo(_settings(args), rows=args.rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalog-ml", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--config", help="TOML settings file (default: catalog-ml.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_lake(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--lake", help="lake root (default: ./lake, or $CATALOG_ML_LAKE)")
        return p

    nightly = with_lake(commands.add_parser(
        "nightly", help="validate, ingest, embed and classify one night's dump"))
    nightly.add_argument("--dump", required=True, help="the dump folder")
    nightly.add_argument("--date", required=True, type=_date, help="the night, YYYY-MM-DD")
    nightly.set_defaults(func=cmd_nightly)

    train = with_lake(commands.add_parser("train", help="train on every labelled product"))
    train.add_argument("--epochs", type=int, help="override train_epochs")
    train.set_defaults(func=cmd_train)

    query = with_lake(commands.add_parser("query", help="SQL over the tables by name"))
    query.add_argument("sql")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.set_defaults(func=cmd_query)

    models = with_lake(commands.add_parser("models", help="list model versions"))
    models.set_defaults(func=cmd_models)

    schemas = commands.add_parser("schemas", help="rewrite schemas/ from the code")
    schemas.set_defaults(func=cmd_schemas)

    demo = with_lake(commands.add_parser(
        "demo", help="generate a sample, train, run a night through Airflow, show results"))
    demo.add_argument("--rows", type=int, default=400, help="labelled products to generate")
    demo.set_defaults(func=cmd_demo)
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    from catalog_ml.dump import DumpError

    try:
        return int(args.func(args))
    except DumpError as exc:
        print(f"catalog-ml: night stopped: {exc}", file=sys.stderr)
        return 2
    except (ValueError, LookupError, RuntimeError) as exc:
        if args.verbose:
            raise
        print(f"catalog-ml: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
