"""Shared fixtures. Airflow's home is a throw-away folder, set before anything imports Airflow;
settings come only from what each test passes (no CATALOG_ML_* from the caller's shell)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
FASHION = SHARED / "fashion_myntra"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="catalog-ml-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)  # one per session, not left
os.environ.update({
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__PARALLELISM": "4",
    "GX_ANALYTICS_ENABLED": "false",
})
for _name in [n for n in os.environ if n.startswith("CATALOG_ML_")]:
    del os.environ[_name]
# py4j logs at interpreter exit, after pytest closed the streams it captured into
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture
def settings(tmp_path: Path):
    from catalog_ml.config import load_settings

    return load_settings(lake=str(tmp_path / "lake"),
                         dump_template=str(tmp_path / "landing" / "{date}"),
                         spark_master="local[2]", train_epochs=40)


@pytest.fixture(scope="session")
def spark():
    from catalog_ml.config import load_settings
    from catalog_ml.lake.spark import get_spark

    session = get_spark(load_settings(spark_master="local[2]", spark_driver_memory="3g"))
    yield session
    session.stop()


def fashion_rows() -> pd.DataFrame:
    if not FASHION.exists():
        pytest.skip(f"real data not found at {FASHION} (../shared beside the clone)")
    frame = pd.read_parquet(FASHION / "products.parquet")
    frame["category"] = (frame["masterCategory"] + " > " + frame["subCategory"] + " > "
                         + frame["articleType"])
    return frame


def write_fashion_dump(folder: Path, rows: pd.DataFrame, labelled: bool,
                       fmt: str = "parquet") -> Path:
    """A dump folder in the contract's shape from real Myntra products and photos."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    dump = pd.DataFrame({
        "product_id": rows["id"].astype(str).to_numpy(),
        "title": rows["productDisplayName"].to_numpy(),
        "image": ("images/" + rows["id"].astype(str) + ".jpg").to_numpy(),
        "gender": rows["gender"].to_numpy(),
        "colour": rows["baseColour"].to_numpy(),
    })
    if labelled:
        dump["category"] = rows["category"].to_numpy()
    if "price" in rows:
        dump["price"] = rows["price"].to_numpy()
        dump["currency"] = "INR"
    for product_id in dump["product_id"]:
        shutil.copy(FASHION / "images" / f"{product_id}.jpg",
                    folder / "images" / f"{product_id}.jpg")
    if fmt == "parquet":
        dump.to_parquet(folder / "products.parquet", index=False)
    else:
        dump.to_csv(folder / "products.csv", index=False)
    (folder / "_SUCCESS").touch()  # complete: the nightly DAG's sensor does not wait
    return folder


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Airflow's SQLite metadata database in the throw-away home, migrated once."""
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, env=dict(os.environ),
                   capture_output=True)
    return _AIRFLOW_HOME
