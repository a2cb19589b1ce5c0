"""catalog_ml.pipeline.ingest: the validate and ingest steps on a real lake (GX and delta-rs)."""

import csv
import datetime as dt
from pathlib import Path

from catalog_ml.lake import Lake
from catalog_ml.pipeline.nightly import run_step

N1, N2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def dump(folder: Path, ids: list[str], title: str = "Lamp") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "products.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "title", "category"])
        writer.writerows([[pid, f"{title} {pid}", "Home > Lamps"] for pid in ids])
    return str(folder)


def night(settings, day: dt.date, folder: str) -> None:
    run_step("validate", settings, day, folder)
    run_step("ingest", settings, day)


def test_a_corrected_rerun_withdraws_what_it_no_longer_holds(settings, tmp_path):
    lake = Lake.from_settings(settings)
    night(settings, N1, dump(tmp_path / "n1", ["a", "b"]))
    night(settings, N2, dump(tmp_path / "n2", ["a", "b", "typo-c", "only-tonight"]))
    # the shop sends a corrected dump for N2: 'typo-c' and 'only-tonight' were never real,
    # and 'b' is gone tonight
    night(settings, N2, dump(tmp_path / "n2-fixed", ["a"], title="Lamp v2"))
    products = {r["product_id"]: r for r in lake.read("products").to_pylist()}
    assert sorted(products) == ["a", "b"]
    assert products["b"]["last_seen"] == N1 and products["b"]["dump_date"] == N1
    assert products["b"]["title"] == "Lamp b"  # back to the content of the night that holds it
    assert products["a"]["last_seen"] == N2 and products["a"]["title"] == "Lamp v2 a"
    assert products["a"]["first_seen"] == N1
    labels = lake.read("labels", where={"dump_date": N2}).column("product_id").to_pylist()
    assert labels == ["a"]


def test_a_rerun_of_the_same_dump_leaves_every_table_as_it_was(settings, tmp_path):
    lake = Lake.from_settings(settings)
    folder = dump(tmp_path / "n1", ["a", "b", "c"])
    night(settings, N1, folder)
    first = {name: lake.read(name).drop_columns(
        [c for c in ("quarantined_at", "labelled_at") if c in lake.read(name).column_names]
    ).sort_by("product_id") for name in ("products", "product_snapshots", "labels")}
    night(settings, N1, folder)
    for name, table in first.items():
        again = lake.read(name).select(table.column_names).sort_by("product_id")
        assert again.equals(table), name
