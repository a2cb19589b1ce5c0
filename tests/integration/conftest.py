"""Session-scoped lakes at the stages of a product's life, built once from real fashion products
and photos, real encoders, Spark local[2] and delta-rs:

- ``labelled_lake``: one labelled night ran (products, labels, embeddings; no model);
- ``trained_lake``: the first model trained on it and registered as champion;
- ``classified_lake``: tonight's unlabelled dump (with broken rows) ran and was classified.

A test reads a stage as it is, or changes its own ``copy``: no test sees what another did, so
any test runs alone (``pytest -k``) and in any order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from catalog_ml.config import Settings, load_settings
from catalog_ml.lake import Lake
from tests.conftest import fashion_rows, write_fashion_dump

LABELLED, NIGHT = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
N_LABELLED, N_NIGHT = 360, 120


def typical_price(article_type: str) -> float:
    """A stable price level per article type, so a hundredfold price stands out."""
    return 150.0 + int(hashlib.sha256(article_type.encode()).hexdigest()[:4], 16) % 40 * 75


def broken_rows(folder: Path) -> pd.DataFrame:
    """Rows the contract rejects, appended to a real dump (with a corrupt and a missing photo)."""
    (folder / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    rows = [
        {"product_id": None, "title": "no id"},
        {"product_id": "dup-x", "title": "first copy"},
        {"product_id": "dup-x", "title": "second copy"},
        {"product_id": "bad-1", "title": ""},
        {"product_id": "bad-2", "title": "Shirt", "price": "-3", "currency": "INR"},
        {"product_id": "bad-3", "title": "Shirt", "price": "cheap", "currency": "INR"},
        {"product_id": "bad-4", "title": "Shirt", "price": "inf", "currency": "INR"},
        {"product_id": "bad-5", "title": "Shirt", "price": "499"},
        {"product_id": "bad-6", "title": "Shirt", "image": "../../etc/passwd"},
        {"product_id": "bad-7", "title": "Shirt", "image": "images/corrupt.jpg"},
        {"product_id": "bad-8", "title": "Shirt", "image": "images/gone.jpg"},
        {"product_id": "bad-9", "title": "T" * 100_000},
    ]
    return pd.DataFrame(rows)


# the field each broken row is rejected for, in row order
BROKEN_FIELDS = ["product_id", "product_id", "product_id", "title", "price", "price", "price",
                 "currency", "image", "image", "image", "title"]


@dataclasses.dataclass(frozen=True)
class World:
    """A lake at one stage, the dumps that made it and what building the stage returned.
    Read it as it is; to change it, work on a ``copy``."""

    base: Path  # the dumps: labelled/, tonight/ (with broken rows), moved/
    settings: Settings
    labelled: pd.DataFrame  # the real rows of each dump
    tonight: pd.DataFrame
    apparel: pd.DataFrame  # moved/: tonight's Apparel only, one price a hundred times too high
    mispriced: str
    outcome: Any = None

    @property
    def lake(self) -> Lake:
        return Lake(self.settings.lake)

    def dump(self, name: str) -> str:
        return str(self.base / name)

    def copy(self, folder: Path) -> World:
        """The same stage in a lake of its own under ``folder``."""
        shutil.copytree(self.settings.lake, folder / "lake")
        return dataclasses.replace(self, settings=self.settings.replace(
            lake=str(folder / "lake")))


@pytest.fixture(scope="session")
def dumps(tmp_path_factory) -> World:
    """The dumps, and settings for a lake not written yet."""
    base = tmp_path_factory.mktemp("world")
    rows = fashion_rows()
    rows = rows[rows["articleType"].map(rows["articleType"].value_counts()) >= 40]
    rows = rows.sample(n=N_LABELLED + N_NIGHT, random_state=5).reset_index(drop=True)
    noise = np.random.default_rng(5).lognormal(0, 0.15, len(rows))
    rows["price"] = [round(typical_price(t) * n, 2)
                     for t, n in zip(rows["articleType"], noise, strict=True)]
    labelled, tonight = rows.iloc[:N_LABELLED], rows.iloc[N_LABELLED:].copy()
    write_fashion_dump(base / "labelled", labelled, labelled=True)
    folder = write_fashion_dump(base / "tonight", tonight, labelled=False, fmt="csv")
    dump = pd.read_csv(folder / "products.csv", dtype=str)
    pd.concat([dump, broken_rows(folder)]).to_csv(folder / "products.csv", index=False)
    apparel = tonight[tonight["masterCategory"] == "Apparel"].copy()
    mispriced = apparel.index[0]
    apparel.loc[mispriced, "price"] *= 100
    write_fashion_dump(base / "moved", apparel, labelled=False)
    settings = load_settings(lake=str(base / "lake"), dump_template=str(base / "landing/{date}"),
                             spark_master="local[2]", train_epochs=25, cv_folds=3,
                             driver_max_products=0)  # the Spark path; test_driver_path: the other
    return World(base, settings, labelled, tonight, apparel, str(apparel.loc[mispriced, "id"]))


@pytest.fixture(scope="session")
def labelled_lake(dumps, spark) -> World:
    """The labelled night ran; ``outcome`` is run_night's results."""
    from catalog_ml.pipeline.nightly import run_night

    results = run_night(dumps.settings, LABELLED, dumps.dump("labelled"))
    return dataclasses.replace(dumps, outcome=results)


@pytest.fixture(scope="session")
def trained_lake(labelled_lake, tmp_path_factory) -> World:
    """A copy of the labelled lake with its first model; ``outcome`` is train_from_lake's."""
    from catalog_ml.pipeline.train import train_from_lake

    world = labelled_lake.copy(tmp_path_factory.mktemp("trained"))
    return dataclasses.replace(world, outcome=train_from_lake(world.settings))


@pytest.fixture(scope="session")
def classified_lake(trained_lake, tmp_path_factory) -> World:
    """A copy of the trained lake after tonight's night; ``outcome`` is run_night's results."""
    from catalog_ml.pipeline.nightly import run_night

    world = trained_lake.copy(tmp_path_factory.mktemp("classified"))
    results = run_night(world.settings, NIGHT, world.dump("tonight"))
    return dataclasses.replace(world, outcome=results)


@pytest.fixture()
def cli_env(monkeypatch):
    """The settings of a world for CLI calls, as an operator's environment would hold them."""
    def apply(world: World) -> None:
        settings = world.settings
        for name, value in (("lake", settings.lake), ("spark_master", settings.spark_master),
                            ("train_epochs", settings.train_epochs),
                            ("cv_folds", settings.cv_folds)):
            monkeypatch.setenv(f"CATALOG_ML_{name.upper()}", str(value))
    return apply


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A real S3 server (moto) on loopback with buckets ``lake`` and ``landing``: its
    storage_options. Stopped by PID at the end of the session."""
    from tests.servers import running, start_s3

    with running(tmp_path_factory.mktemp("s3")) as servers:
        yield start_s3(servers, ("lake", "landing"))
