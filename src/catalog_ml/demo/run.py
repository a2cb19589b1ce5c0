"""``catalog-ml demo``: the whole product on a generated sample, in a few minutes.

1. generate a labelled history night and tonight's unlabelled dump (with a few broken rows);
2. run the history night through the pipeline, which stores products, labels and embeddings;
3. train the first model (it becomes the champion if the lake has none);
4. run tonight through Airflow (``airflow dags test catalog_nightly <date>``);
5. print the night's summary, a query of the results and where the HTML report is.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from catalog_ml.airflow.env import airflow_command
from catalog_ml.config import Settings
from catalog_ml.demo.sample import generate_dump
from catalog_ml.lake import Lake
from catalog_ml.lake.query import night_summary, run_query
from catalog_ml.pipeline.nightly import run_night
from catalog_ml.pipeline.publish import report_path
from catalog_ml.pipeline.train import train_from_lake

HISTORY_NIGHT = dt.date(2026, 11, 1)
TONIGHT = dt.date(2026, 11, 2)


def _say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def run_demo(settings: Settings, rows: int = 400, airflow_home: Path | None = None) -> int:
    """The five steps, printed as they go; Airflow's metadata lives in ``airflow_home``
    (default: the project's .airflow folder)."""
    history = Path(settings.dump_dir(HISTORY_NIGHT.isoformat()))
    tonight = Path(settings.dump_dir(TONIGHT.isoformat()))
    _say(f"1/5 generating {rows} labelled products ({history}) and tonight's dump ({tonight})")
    generate_dump(history, rows, seed=7, labelled=True, prefix="hist")
    generate_dump(tonight, max(20, rows // 3), seed=8, labelled=False, prefix="new",
                  broken=True)

    _say(f"2/5 history night {HISTORY_NIGHT} through the pipeline")
    for step, result in run_night(settings, HISTORY_NIGHT, str(history)).items():
        print(f"  {step}: {json.dumps(result.to_xcom())}")

    _say("3/5 training the first classifier on every labelled product in the lake")
    trained = train_from_lake(settings, progress=lambda message: print(f"  {message}"))
    leaf = trained["metrics"]["cross_validation"]["ensemble"]
    print(f"  model {trained['version']} ({trained['status']}), cross-validated: "
          f"{json.dumps(leaf)}\n  evaluation report: {trained['evaluation']}")

    _say(f"4/5 tonight ({TONIGHT}) through Airflow: airflow dags test catalog_nightly")
    airflow_command(settings, "db", "migrate", home=airflow_home)
    airflow_command(settings, "dags", "test", "catalog_nightly", TONIGHT.isoformat(),
                    home=airflow_home)

    _say("5/5 results")
    lake = Lake.from_settings(settings)
    print(f"  summary: {json.dumps(night_summary(lake, TONIGHT), default=str)}")
    table = run_query(lake, f"""
        SELECT category, count(*) AS products, round(avg(confidence), 3) AS mean_confidence,
               sum(CAST(needs_review AS INT)) AS needs_review
        FROM classifications WHERE run_date = DATE '{TONIGHT}'
        GROUP BY category ORDER BY products DESC""")
    print(table.to_pandas().to_string(index=False))
    reasons = run_query(lake, f"""
        SELECT source_row, product_id, reasons FROM quarantine
        WHERE dump_date = DATE '{TONIGHT}' ORDER BY source_row""")
    print("\n  quarantined tonight:")
    print(reasons.to_pandas().to_string(index=False))
    print(f"\n  tonight's report: {lake.file_path(report_path(TONIGHT))}")
    print(f"\n  Try: catalog-ml query \"SELECT * FROM classifications WHERE run_date = "
          f"DATE '{TONIGHT}' LIMIT 5\"  (lake: {lake.root})")
    return 0
