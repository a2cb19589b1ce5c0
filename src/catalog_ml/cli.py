"""The ``catalog-ml`` command: nightly, report, review, train, models, promote, rollback,
query, vacuum, maintain, serve, worker, demo.

Exit codes: 0 done; 2 a data problem (the dump, labels, a review file, a model artifact; the
message names the file, row or field); 64 a usage or configuration error (an option, setting,
path or statement); 74 the machine refused (disk full, read-only, permission); 75 another
writer holds the lake or won a race (retry); 1 a bug in catalog-ml (shown with its traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from catalog_ml.airflow.constants import NIGHT_STEPS
from catalog_ml.config import Settings, load_settings
from catalog_ml.errors import (
    EXIT_BUG,
    EXIT_CONFIG,
    ConfigError,
    translate,
)
from catalog_ml.validation.unicode_text import unstorable

QUIET_LOGGERS = ("py4j", "great_expectations", "urllib3", "httpx", "transformers")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1 to 65535): {text!r}")
    return port


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"at least {minimum}, got {value}")
        return value
    return parse


# the demo's 10 categories need enough labelled products for 5-fold cross-validation after
# the held-out share; 90 is the smallest the tests run (tests/integration/demo)
DEMO_MIN_ROWS = 90


class Parser(argparse.ArgumentParser):
    """argparse with usage errors at exit code 64, apart from the data problems' 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"{self.prog}: usage: {message}\n")


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    return load_settings(getattr(args, "config", None), lake=getattr(args, "lake", None),
                         **overrides)


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
    settings = _settings(args, allow_new_categories=args.allow_new_categories or None)
    from catalog_ml.lake import Lake
    from catalog_ml.lake.query import night_summary
    from catalog_ml.pipeline.nightly import run_night
    from catalog_ml.pipeline.results import StepResult

    if args.step:  # one step, as an Airflow task runs it: its whole result as JSON
        from catalog_ml.pipeline.nightly import run_step

        result = run_step(args.step, settings, args.date, dump_dir=args.dump)
        print(f"[{args.date}] {args.step}: {json.dumps(result.to_xcom(), default=str)}",
              flush=True)
        return 0

    def show(step: str, result: StepResult) -> None:
        shown = {k: v for k, v in result.to_xcom().items() if k not in ("night",)}
        print(f"[{args.date}] {step}: {json.dumps(shown, default=str)}", flush=True)

    results = run_night(settings, args.date, dump_dir=args.dump, on_step=show)
    summary = night_summary(Lake.from_settings(settings), args.date)
    print(f"[{args.date}] summary: {json.dumps(summary, default=str)}")
    print(f"[{args.date}] report: {getattr(results['report'], 'report', None)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.nightly import run_step

    result = run_step("report", _settings(args), args.date)
    print(json.dumps({k: v for k, v in result.to_xcom().items() if k != "report"}))
    print(f"report: {getattr(result, 'report', None)}")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.review import export_review

    result = export_review(_settings(args), args.date, args.out)
    print(f"{result['products']} products to review written to {result['file']}; fill the "
          "'correct_category' column, then run `catalog-ml review import FILE`")
    return 0


def cmd_rules_add(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.rules import add_rule
    from catalog_ml.pipeline.labels import known_categories

    settings = _settings(args)
    lake = Lake.from_settings(settings)
    rule = add_rule(lake, args.field, args.pattern, args.category, args.priority, args.author,
                    known_categories(lake) if lake.initialised() else (),
                    settings.max_category_depth,
                    args.allow_new_categories or settings.allow_new_categories)
    print(json.dumps(rule.__dict__, default=str, ensure_ascii=False))
    return 0


def cmd_rules_list(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.rules import load_rules

    rules = load_rules(Lake.from_settings(_settings(args)))
    for rule in rules:
        print(json.dumps(rule.__dict__, default=str, ensure_ascii=False))
    if not rules:
        print("no rules; add one with `catalog-ml rules add`", file=sys.stderr)
    return 0


def cmd_rules_remove(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.rules import remove_rule

    remove_rule(Lake.from_settings(_settings(args)).require(), args.rule_id)
    print(f"removed {args.rule_id}")
    return 0


def cmd_review_import(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.review import import_review

    result = import_review(_settings(args), args.file,
                           allow_new_categories=args.allow_new_categories or None)
    print(f"{result['imported']} decisions imported into labels (version "
          f"{result['labels_version']}); the next `catalog-ml train` learns from them")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from catalog_ml.pipeline.train import train_from_lake

    settings = _settings(args)
    if args.epochs is not None:
        settings = settings.replace(train_epochs=args.epochs)
    if args.folds is not None:
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

    lake = Lake.from_settings(_settings(args)).require()
    with lake.writer(f"promote {args.version}"):
        entry = promote(lake, args.version)
    print(f"{entry.version} is the champion; run `airflow dags trigger catalog_reclassify` "
          "(or the next night) to classify with it")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import rollback

    lake = Lake.from_settings(_settings(args)).require()
    with lake.writer("rollback"):
        entry = rollback(lake)
    print(f"rolled back: {entry.version} is the champion again")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.lake.query import run_query

    settings = _settings(args)
    _print_table(run_query(Lake.from_settings(settings).require(), args.sql), args.format)
    return 0


def cmd_vacuum(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.lake.maintenance import vacuum

    settings = _settings(args, vacuum_retention_hours=args.retention_hours)  # checked there
    hours = settings.vacuum_retention_hours
    result = vacuum(Lake.from_settings(settings).require(), hours, dry_run=args.dry_run)
    deleted = sum(t["files"] for t in result["tables"].values())
    verb = "would delete" if args.dry_run else "deleted"
    print(f"vacuum ({hours:g} h retention): {verb} {deleted} files, "
          f"{len(result['debris'])} leftovers of killed Spark writes, "
          f"{len(result['staging'])} staging folders; label snapshots kept: "
          f"{result['kept_label_versions'] or 'none'}")
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from catalog_ml.lake import Lake
    from catalog_ml.lake.maintenance import maintain, summary

    settings = _settings(args, vacuum_retention_hours=args.retention_hours)
    result = maintain(Lake.from_settings(settings).require(),
                      settings.vacuum_retention_hours, dry_run=args.dry_run)
    print(json.dumps({**summary(result), "dry_run": args.dry_run}))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from catalog_ml.lake import Lake
    from catalog_ml.models.registry import summary_rows

    rows = summary_rows(Lake.from_settings(_settings(args)).require())
    _print_table(pa.Table.from_pylist(rows) if rows else pa.table({"version": []}), args.format)
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from catalog_ml.config import Settings
    from catalog_ml.validation.schemas import write_contracts

    for path in write_contracts(Settings()):
        print(path)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress

    settings = _settings(args)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback and not settings.api_token:
        raise ConfigError(f"--host {args.host} is not loopback: set api_token "
                          "(CATALOG_ML_API_TOKEN) so that requests need a bearer token")
    import uvicorn

    from catalog_ml.serving.app import create_app

    print(f"catalog-ml API on http://{args.host}:{args.port} (lake {settings.lake}); "
          f"docs at /docs", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                access_log=False, timeout_graceful_shutdown=10)
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from pathlib import Path

    from catalog_ml.deploy import stack

    given: dict[str, Any] = {k: v for k, v in (
        ("home", Path(args.home).resolve() if args.home else None), ("api_port", args.port),
        ("spark_port", args.spark_port)) if v is not None}
    config = stack.StackConfig(**given, worker=not args.no_worker)
    settings = _settings(args)
    if args.stack_command == "up":
        print(f"starting the stack in {config.home} (Spark Connect, the worker, then "
              "Airflow) ...", flush=True)
        where = stack.up(config, settings)
        print(f"""catalog-ml stack is up
  Airflow UI   {where['ui']}   user {where['user']}, password {where['password']}
  REST API     {where['ui']}/api/v2   (token: POST {where['ui']}/auth/token)
  Spark        {where['spark']}   (Spark Connect; tasks share one warm session)
  worker       {where['worker'] or 'off (--no-worker): each task imports its step itself'}
  lake         {where['lake']}
  landing      {where['landing']}   (a night's dump goes here; write _SUCCESS when complete)
  logs         {where['logs']}
  stop it with `catalog-ml stack down` (or `make down`)""")
    elif args.stack_command == "down":
        stopped = stack.down(config)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    else:
        for name, pid in stack.status(config).items():
            print(f"{name:14} {'running, pid ' + str(pid) if pid else 'stopped'}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from catalog_ml.lake.spark import interrupt_jobs
    from catalog_ml.pipeline import worker
    from catalog_ml.pipeline.warm_encoders import become_resident

    settings = _settings(args)
    path = args.socket or settings.worker_socket
    if not path:
        raise ConfigError("worker: give --socket PATH or set worker_socket "
                          "(CATALOG_ML_WORKER_SOCKET)")
    listener = worker.listen(path)  # first: a second worker on the socket is refused at once

    def stop(signum: int, frame: Any) -> None:
        raise worker.WorkerStopping

    signal.signal(signal.SIGTERM, stop)
    print("catalog-ml worker: loading the encoders and the night's modules ...", flush=True)
    try:
        version = become_resident(settings)
    except BaseException:
        worker.close(listener)
        raise

    def settings_of(argv: list[str]) -> tuple[str, Settings]:
        parsed = build_parser().parse_args(argv)
        return parsed.command, _settings(parsed)

    about = {"pid": os.getpid(), "encoder_version": version}
    print(f"catalog-ml worker ready on {listener.getsockname()} (pid {os.getpid()}, encoders "
          f"{version}); clients set worker_socket to it; stop it with SIGTERM", flush=True)
    try:
        worker.serve(listener, settings_of, run_here, about, on_cancel=interrupt_jobs)
    except worker.WorkerStopping:
        print("catalog-ml worker: stopped", flush=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from catalog_ml.demo.run import run_demo

    return run_demo(_settings(args), rows=args.rows)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="catalog-ml", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--config", help="TOML settings file (default: catalog-ml.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_lake(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--lake", help="lake root (default: ./lake, or $CATALOG_ML_LAKE)")
        return p

    nightly = with_lake(commands.add_parser(
        "nightly", help="validate, ingest, embed and classify one night's dump"))
    nightly.add_argument("--dump", help="the dump folder (default: dump_template's for the "
                                         "date)")
    nightly.add_argument("--date", required=True, type=_date, help="the night, YYYY-MM-DD")
    nightly.add_argument("--step", choices=NIGHT_STEPS,
                         help="run this one step of the night only (as an Airflow task does)")
    nightly.add_argument("--allow-new-categories", action="store_true",
                         help="accept dump labels outside the lake's taxonomy")
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

    rules = commands.add_parser(
        "rules", help="analyst rules that decide a category before the model: add, list, "
                      "remove")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    add = with_lake(rule_commands.add_parser(
        "add", help="a pattern over title, brand or attributes -> a category"))
    add.add_argument("--field", default="title", choices=("title", "brand", "attributes", "any"))
    add.add_argument("--pattern", required=True,
                     help="a case-insensitive regular expression, e.g. 'gift ?card'")
    add.add_argument("--category", required=True, help="the category path it decides")
    add.add_argument("--priority", type=int, default=0, help="the highest matching rule wins")
    add.add_argument("--author", default=os.environ.get("USER"), help="who added it")
    add.add_argument("--allow-new-categories", action="store_true",
                     help="accept a category outside the lake's taxonomy")
    add.set_defaults(func=cmd_rules_add)
    listing = with_lake(rule_commands.add_parser("list", help="the rules, the winner first"))
    listing.set_defaults(func=cmd_rules_list)
    drop = with_lake(rule_commands.add_parser("remove", help="delete a rule by its id"))
    drop.add_argument("rule_id")
    drop.set_defaults(func=cmd_rules_remove)

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
    take.add_argument("--allow-new-categories", action="store_true",
                      help="accept decisions outside the lake's taxonomy")
    take.set_defaults(func=cmd_review_import)

    vacuum = with_lake(commands.add_parser(
        "vacuum", help="delete replaced files, leftovers of killed writes, old staging"))
    vacuum.add_argument("--retention-hours", type=float,
                        help="keep files replaced more recently (default: "
                             "vacuum_retention_hours, 168)")
    vacuum.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    vacuum.set_defaults(func=cmd_vacuum)

    serve = with_lake(commands.add_parser(
        "serve", help="the REST API: classify products online with the champion"))
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; another needs api_token)")
    serve.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    serve.set_defaults(func=cmd_serve)

    maintain = with_lake(commands.add_parser(
        "maintain", help="compact small files, checkpoint every table, then vacuum"))
    maintain.add_argument("--retention-hours", type=float,
                          help="vacuum's retention (default: vacuum_retention_hours, 168)")
    maintain.add_argument("--dry-run", action="store_true", help="change nothing")
    maintain.set_defaults(func=cmd_maintain)

    stack_parser = with_lake(commands.add_parser(
        "stack", help="a local production-like stack: Airflow servers and a warm Spark"))
    stack_parser.add_argument("stack_command", choices=("up", "down", "status"))
    stack_parser.add_argument("--home", help="where the stack keeps its state (default .stack)")
    stack_parser.add_argument("--port", type=_port, help="Airflow api-server port (8080)")
    stack_parser.add_argument("--spark-port", type=_port, help="Spark Connect port (15002)")
    stack_parser.add_argument("--no-worker", action="store_true",
                              help="no resident worker: each step task imports its step")
    stack_parser.set_defaults(func=cmd_stack)

    schemas = commands.add_parser("schemas", help="rewrite schemas/ from the code")
    schemas.set_defaults(func=cmd_schemas)

    demo = with_lake(commands.add_parser(
        "demo", help="generate a sample, train, run a night through Airflow, show results"))
    demo.add_argument("--rows", type=_at_least(DEMO_MIN_ROWS), default=400,
                      help=f"labelled products to generate (at least {DEMO_MIN_ROWS})")
    demo.set_defaults(func=cmd_demo)

    resident = with_lake(commands.add_parser(
        "worker", help="a resident worker: nightly and report run in it, warm"))
    resident.add_argument("--socket", help="its Unix socket (default: worker_socket)")
    resident.set_defaults(func=cmd_worker)
    return parser


def configure_logging(verbose: bool, stream: Any = None, force: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=stream, force=force)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def guarded(run: Callable[[], int], verbose: bool = False, prog: str = "catalog-ml") -> int:
    """Run a command; a user-side failure is one line and its exit code, a bug a traceback."""
    try:
        return int(run())
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        error = translate(exc)
        if error is None:
            traceback.print_exc()
            print(f"{prog}: this is a bug in catalog-ml ({type(exc).__name__}); please report "
                  "it with the traceback above", file=sys.stderr)
            return EXIT_BUG
        if verbose:
            traceback.print_exc()
        message = " ".join(str(error).split("\n"))
        print(f"{prog}: {error.kind}: {message}", file=sys.stderr)
        return error.exit_code


def run_here(argv: list[str]) -> int:
    """A command in a resident worker, writing to the client's streams (``sys.stdout`` and
    ``sys.stderr`` for the command); the worker's own log gets its handler back after."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # the client parsed the same argv: only a version skew lands here
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    workers_own = logging.getLogger().level
    configure_logging(args.verbose, stream=sys.stderr, force=True)
    try:
        return guarded(lambda: args.func(args), verbose=args.verbose)
    finally:
        configure_logging(workers_own == logging.DEBUG, stream=sys.__stderr__, force=True)


def _forwarded(args: argparse.Namespace, argv: list[str]) -> int | None:
    """The exit code of the command run by the resident worker, if one is set and takes it."""
    from catalog_ml.pipeline.worker import FORWARDED, forward

    if args.command not in FORWARDED:
        return None
    try:
        settings = _settings(args)
    except ConfigError:  # the command reports it, here
        return None
    if not settings.worker_socket:
        return None
    return forward(settings.worker_socket, argv, settings)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    for position, argument in enumerate(argv, start=1):
        # bytes that are not UTF-8 arrive as surrogates, which no table, log or SQL takes
        if (detail := unstorable(argument)) is not None:
            parser.error(f"argument {position} ({argument!a}) is not UTF-8 text "
                         f"({detail})")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    code = _forwarded(args, argv)
    if code is not None:
        return code
    return guarded(lambda: args.func(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
