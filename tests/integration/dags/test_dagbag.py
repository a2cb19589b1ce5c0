"""DAG integrity: every file under dags/ parses, follows the conventions, and stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.airflow
DAGS = ROOT / "dags"
HEAVY = ("torch", "pyspark", "great_expectations", "transformers", "deltalake")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "catalog_nightly" in dagbag.dag_ids


def test_dags_carry_tags_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        for task in dag.tasks:
            if task.task_id != "wait_for_dump":  # waiting again would not make it on time
                assert task.retries >= 1, (dag_id, task.task_id)
        assert dag.is_paused_upon_creation is False, dag_id  # installing it does the job


def test_nightly_runs_one_night_at_a_time_in_step_order(dagbag):
    dag = dagbag.dags["catalog_nightly"]
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == [
        "wait_for_dump", "validate", "ingest", "embed", "classify", "report"]
    assert dag.get_task("wait_for_dump").retries == 0
    assert "dump_dir" in dag.params


def test_a_promotion_asset_links_retraining_to_reclassification(dagbag):
    retrain, reclassify = dagbag.dags["catalog_retrain"], dagbag.dags["catalog_reclassify"]
    assert {"labels_version", "epochs", "promote"} <= set(retrain.params)
    assert [t.task_id for t in retrain.topological_sort()] == ["train", "promote"]
    produced = [a.uri for a in retrain.get_task("promote").outlets]
    consumed = [a.uri for a in reclassify.timetable.asset_condition.objects]
    assert produced == consumed == ["catalog-ml://models/champion"]
    assert not retrain.get_task("train").outlets  # only a promotion updates the asset


@pytest.mark.parametrize("dag_file", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_parsing_a_dag_file_imports_no_heavy_library(dag_file):
    probe = (f"import runpy, sys; runpy.run_path({str(dag_file)!r}); "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1:] in ([], [""]), result.stdout


def test_a_data_problem_fails_the_task_without_retries(tmp_path, monkeypatch):
    import datetime as dt

    from airflow.sdk.exceptions import AirflowFailException

    from catalog_ml.airflow.tasks import nightly_task

    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "products.csv").write_text("product_id,name\np1,Lamp\n")
    monkeypatch.setenv("CATALOG_ML_LAKE", str(tmp_path / "lake"))
    context = {"logical_date": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
               "params": {"dump_dir": str(dump)}}
    with pytest.raises(AirflowFailException, match=r"2026-11-02 stopped at validate.*'title'"):
        nightly_task("validate", context)
    from catalog_ml.lake import Lake

    lake = Lake(str(tmp_path / "lake"))  # tables exist with their schema, and hold no row
    assert lake.exists("quarantine") and lake.read("quarantine").num_rows == 0
    assert lake.read("product_snapshots").num_rows == 0


def test_the_maintenance_dag_runs_weekly_and_its_task_cleans_a_lake(dagbag, tmp_path,
                                                                     monkeypatch):
    import datetime as dt

    import pyarrow as pa

    from catalog_ml.airflow.tasks import maintenance_task
    from catalog_ml.lake import Lake
    from catalog_ml.lake.tables import QUARANTINE

    dag = dagbag.dags["catalog_maintenance"]
    assert [t.task_id for t in dag.tasks] == ["maintain"]
    assert dag.max_active_runs == 1 and dag.catchup is False
    monkeypatch.setenv("CATALOG_ML_LAKE", str(tmp_path / "lake"))
    assert "skipped" in maintenance_task()  # no lake yet: nothing to do, not a failure
    lake = Lake(str(tmp_path / "lake"))
    with lake.writer("setup"):
        for i in range(3):
            lake.append("quarantine", pa.Table.from_pylist(
                [{"dump_date": dt.date(2026, 11, 1), "source_row": i, "product_id": f"p{i}",
                  "reasons": ["x"], "raw_record": "{}"}], schema=QUARANTINE.schema))
    result = maintenance_task()
    assert result["compacted"]["quarantine"]["removed"] == 3
    assert lake.read("quarantine").num_rows == 3


def test_the_dags_share_the_constants_of_catalog_ml_airflow(dagbag):
    from catalog_ml.airflow.constants import CHAMPION_ASSET_URI, NIGHT_STEPS, START_DATE
    from catalog_ml.pipeline.nightly import STEPS

    assert NIGHT_STEPS == STEPS
    for dag_id, dag in dagbag.dags.items():
        assert dag.start_date == START_DATE and dag.catchup is False, dag_id
        assert dag.default_args["owner"] == "catalog-ml" and "catalog-ml" in dag.tags, dag_id
    outlets = [a.uri for a in dagbag.dags["catalog_retrain"].get_task("promote").outlets]
    assert outlets == [CHAMPION_ASSET_URI]
