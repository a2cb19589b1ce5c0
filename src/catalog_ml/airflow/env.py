"""Running Airflow embedded: SQLite metadata in the project's .airflow folder, our dags/ folder.

Used by the demo (``airflow dags test``) and by tests; a real deployment sets these variables
in its own environment instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from catalog_ml.config import Settings, project_root


def airflow_environment(settings: Settings, home: Path | None = None) -> dict[str, str]:
    root = project_root()
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home or root / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "CATALOG_ML_LAKE": settings.lake,
        "CATALOG_ML_DUMP_TEMPLATE": settings.dump_template,
    })
    return env


def airflow_command(settings: Settings, *args: str, home: Path | None = None
                    ) -> subprocess.CompletedProcess[str]:
    """Run the venv's ``airflow`` CLI; output streams to the terminal."""
    executable = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(executable), *args], env=airflow_environment(settings, home),
                          check=True, text=True)
