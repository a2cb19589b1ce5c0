"""catalog_ml.airflow.constants: what the DAG files share, importable without anything heavy."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from catalog_ml.airflow.constants import NIGHT_STEPS, START_DATE, dag_arguments
from catalog_ml.pipeline.nightly import STEPS


def test_the_dags_steps_are_the_pipelines_steps():
    assert NIGHT_STEPS == STEPS


def test_dag_arguments_hold_the_shared_defaults_and_the_dags_own():
    arguments = dag_arguments(tags=["nightly"], retries=2,
                              retry_delay=dt.timedelta(minutes=5), max_active_runs=3)
    assert arguments["start_date"] == START_DATE and START_DATE.tzinfo is not None
    assert arguments["catchup"] is False and arguments["is_paused_upon_creation"] is False
    assert arguments["default_args"] == {"owner": "catalog-ml", "retries": 2,
                                         "retry_delay": dt.timedelta(minutes=5)}
    assert arguments["tags"] == ["catalog-ml", "nightly"]
    assert arguments["max_active_runs"] == 3  # a DAG's own value wins


def test_importing_the_constants_imports_only_the_standard_library():
    probe = ("import sys; import catalog_ml.airflow.constants; "
             "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
             "('airflow', 'pyspark', 'deltalake', 'pandas', 'torch', 'pyarrow')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
