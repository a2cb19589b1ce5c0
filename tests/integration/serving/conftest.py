"""The served world: a lake with a champion, a challenger and a classified night, built from
real Myntra products on the session's Spark, and ``catalog-ml serve`` on loopback as a
subprocess, stopped by PID after the last test of this folder."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from catalog_ml.config import load_settings
from catalog_ml.lake import Lake
from tests.conftest import fashion_rows, write_fashion_dump
from tests.integration.serving.served import BIN, LABELLED, NIGHT, TOKEN, Client
from tests.servers import free_port


@pytest.fixture(scope="package")
def served(tmp_path_factory, spark):
    from catalog_ml.pipeline.nightly import run_night
    from catalog_ml.pipeline.train import train_from_lake

    base = tmp_path_factory.mktemp("serve")
    rows = fashion_rows()
    common = rows["category"].value_counts().index[:5]
    rows = rows[rows["category"].isin(common)].groupby("category").head(30)
    rows = rows.sample(frac=1.0, random_state=5)
    write_fashion_dump(base / "labelled", rows.iloc[:120], labelled=True)
    night = write_fashion_dump(base / "night", rows.iloc[120:150], labelled=False)
    settings = load_settings(lake=str(base / "lake"), spark_master="local[2]",
                             train_epochs=20, cv_folds=2)
    run_night(settings, LABELLED, str(base / "labelled"))
    first = train_from_lake(settings)
    run_night(settings, NIGHT, str(night))
    second = train_from_lake(settings.replace(train_seed=99, promotion_margin=1.0))
    assert second["status"] == "challenger"  # kept for the hot-reload test
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=settings.lake, CATALOG_ML_API_TOKEN=TOKEN,
               CATALOG_ML_API_IMAGE_ROOT=str(night), CATALOG_ML_API_RELOAD_S="0.5",
               CATALOG_ML_API_MAX_PRODUCTS="40", CATALOG_ML_API_MAX_REQUEST_BYTES="3000000")
    log = (base / "serve.log").open("wb")
    server = subprocess.Popen([str(BIN / "catalog-ml"), "serve", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    client = Client(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, (base / "serve.log").read_text()[-3000:]
            try:
                if client.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        else:
            raise AssertionError((base / "serve.log").read_text()[-3000:])
        yield {"client": client, "lake": Lake(settings.lake), "night": night, "env": env,
               "first": first["version"], "second": second["version"], "url": client.url,
               "log": base / "serve.log"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

