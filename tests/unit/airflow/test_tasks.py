"""catalog_ml.airflow.tasks: what the DAG tasks call, without Airflow running."""

import datetime as dt
from types import SimpleNamespace

import pytest

from catalog_ml.airflow.tasks import night_from_context


def test_night_comes_from_logical_date_or_run_after():
    assert night_from_context({"logical_date": dt.datetime(2026, 11, 2, 0, 0)}) == \
        dt.date(2026, 11, 2)
    run = SimpleNamespace(run_after=dt.datetime(2026, 11, 3, 4, 5))
    assert night_from_context({"logical_date": None, "dag_run": run}) == dt.date(2026, 11, 3)
    with pytest.raises(ValueError):
        night_from_context({})
