"""catalog_ml.airflow.env: the environment of an embedded Airflow for the demo and tests."""

from __future__ import annotations

from catalog_ml.airflow.env import airflow_environment
from catalog_ml.config import load_settings, project_root


def test_the_environment_points_airflow_at_our_dags_and_the_lake(tmp_path):
    settings = load_settings(lake=str(tmp_path / "lake"),
                             dump_template=str(tmp_path / "landing" / "{date}"))
    env = airflow_environment(settings, home=tmp_path / "airflow")
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(project_root() / "dags")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["CATALOG_ML_LAKE"] == settings.lake
    assert env["CATALOG_ML_DUMP_TEMPLATE"] == settings.dump_template
    default = airflow_environment(settings)
    assert default["AIRFLOW_HOME"] == str(project_root() / ".airflow")
