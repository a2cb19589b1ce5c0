"""The ``catalog-ml`` command: nightly, report, review, train, models, promote, rollback,
query, demo.

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

    results = run_night(settings, args.date, dump_dir=args.dump, on_step=show)
    summary = night_summary(Lake.from_settings(settings), args.date)
    print(f"[{args.date}] summary: {json.dumps(summary, default=str)}")
    print(f"[{args.date}] report: {results['report']['report']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.report import report_night

    result = report_night(_settings(args), args.date)
    print(json.dumps({k: v for k, v in result.items() if k != "report"}, default=str))
    print(f"report: {result['report']}")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.review import export_review

    result = export_review(_settings(args), args.date, args.out)
    print(f"{result['products']} products to review written to {result['file']}; fill the "
          "'correct_category' column, then run `catalog-ml review import FILE`")
    return 0


def cmd_review_import(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.review import import_review

    result = import_review(_settings(args), args.file)
    print(f"{result['imported']} decisions imported into labels (version "
          f"{result['labels_version']}); the next `catalog-ml train` learns from them")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.train import train_from_lake

    settings = _settings(args)
    if args.epochs:
        settings = settings.replace(train_epochs=args.epochs)
    if args.folds:
        settings = settings.replace(cv_folds=args.folds)

    def progress(message: str) -> None:
        print(f"train: {message}", flush=True)

    result = train_from_lake(settings, labels_version=args.labels_version,
                             promote_when_better=args.promote, progress=progress)
    metrics = result.pop("metrics")
    print(json.dumps({**result, "cross_validation": metrics["cross_validation"]["ensemble"],
                      "holdout": metrics.get("holdout", {}).get("levels")}, indent=2,
                     default=str))
    print(f"evaluation report: {result['evaluation']}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import promote

    entry = promote(Lake.from_settings(_settings(args)), args.version)
    print(f"{entry.version} is the champion; run `airflow dags trigger catalog_reclassify` "
          "(or the next night) to classify with it")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import rollback

    entry = rollback(Lake.from_settings(_settings(args)))
    print(f"rolled back: {entry.version} is the champion again")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.query import run_query

    settings = _settings(args)
    _print_table(run_query(Lake.from_settings(settings), args.sql), args.format)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import summary_rows

    rows = summary_rows(Lake.from_settings(_settings(args)))
    _print_table(pa.Table.from_pylist(rows) if rows else pa.table({"version": []}), args.format)
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

    train = with_lake(commands.add_parser(
        "train", help="train, evaluate, register; promote if better than the champion"))
    train.add_argument("--epochs", type=int, help="override train_epochs")
    train.add_argument("--folds", type=int, help="override cv_folds")
    train.add_argument("--labels-version", type=int,
                       help="train on this version of the labels table (default: latest)")
    train.add_argument("--promote", action=argparse.BooleanOptionalAction, default=True,
                       help="promote when it beats the champion by promotion_margin")
    train.set_defaults(func=cmd_train)

    promote = with_lake(commands.add_parser("promote", help="make VERSION the champion"))
    promote.add_argument("version")
    promote.set_defaults(func=cmd_promote)

    rollback = with_lake(commands.add_parser(
        "rollback", help="bring back the champion before the current one"))
    rollback.set_defaults(func=cmd_rollback)

    query = with_lake(commands.add_parser("query", help="SQL over the tables by name"))
    query.add_argument("sql")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.set_defaults(func=cmd_query)

    models = with_lake(commands.add_parser("models", help="list model versions and metrics"))
    models.add_argument("--format", choices=("table", "csv", "json"), default="table")
    models.set_defaults(func=cmd_models)

    report = with_lake(commands.add_parser(
        "report", help="rebuild a night's report tables and HTML report"))
    report.add_argument("--date", required=True, type=_date, help="the night, YYYY-MM-DD")
    report.set_defaults(func=cmd_report)

    review = commands.add_parser("review", help="the review queue: export, then import")
    review_commands = review.add_subparsers(dest="review_command", required=True)
    export = with_lake(review_commands.add_parser(
        "export", help="write a night's needs_review products to CSV, most uncertain first"))
    export.add_argument("--date", required=True, type=_date, help="the night, YYYY-MM-DD")
    export.add_argument("--out", help="CSV file (default: review-DATE.csv)")
    export.set_defaults(func=cmd_review_export)
    take = with_lake(review_commands.add_parser(
        "import", help="add the decisions of a filled review CSV to labels"))
    take.add_argument("file")
    take.set_defaults(func=cmd_review_import)

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
