"""catalog_ml.lake.maintenance: vacuum on real delta-rs tables."""

import datetime as dt

import pyarrow as pa
from deltalake import DeltaTable

from catalog_ml.lake import Lake
from catalog_ml.lake.maintenance import vacuum
from catalog_ml.lake.tables import LABELS, MODELS, QUARANTINE

D1 = dt.date(2026, 11, 1)


def _quarantine(n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"dump_date": D1, "source_row": i, "product_id": f"p{i}", "reasons": ["x"],
          "raw_record": "{}"} for i in range(n)], schema=QUARANTINE.schema)


def _labels(category: str) -> pa.Table:
    return pa.Table.from_pylist([{"product_id": "p1", "category": category, "source": "dump",
                                  "dump_date": D1}], schema=LABELS.schema)


def _model_trained_on(lake: Lake, labels_version: int) -> None:
    now = dt.datetime.now(dt.UTC)
    lake.upsert("models", pa.Table.from_pylist([{
        "version": "v1", "status": "champion", "created_at": now, "artifact_path": "a",
        "encoder_version": "e", "label_snapshot": f"labels@v{labels_version}"}],
        schema=MODELS.schema))


def test_vacuum_deletes_replaced_files_but_keeps_the_label_snapshots_models_name(tmp_path):
    lake = Lake(str(tmp_path))
    with lake.writer("setup"):
        for n in (3, 2, 1):  # three reruns of one night: two sets of replaced files
            lake.replace_slice("quarantine", _quarantine(n), {"dump_date": D1})
        lake.replace_slice("labels", _labels("A > B"), {"dump_date": D1, "source": "dump"})
        trained_on = lake.version("labels")
        lake.replace_slice("labels", _labels("A > C"), {"dump_date": D1, "source": "dump"})
        _model_trained_on(lake, trained_on)
    files_before = len(list((tmp_path / "quarantine").rglob("*.parquet")))

    dry = vacuum(lake, retention_hours=0, dry_run=True)
    assert dry["tables"]["quarantine"]["files"] == 2
    assert len(list((tmp_path / "quarantine").rglob("*.parquet"))) == files_before

    done = vacuum(lake, retention_hours=0)
    assert done["kept_label_versions"] == [trained_on]
    assert len(list((tmp_path / "quarantine").rglob("*.parquet"))) == files_before - 2
    assert lake.read("quarantine").num_rows == 1
    old = DeltaTable(lake.path("labels"), version=trained_on).to_pyarrow_table()
    assert old.column("category").to_pylist() == ["A > B"]  # time travel still works


def test_vacuum_removes_what_a_killed_spark_write_left(tmp_path):
    lake = Lake(str(tmp_path))
    with lake.writer("setup"):
        lake.append("quarantine", _quarantine(1))
    debris = tmp_path / "embeddings" / "spark-write-20261101T000000-deadbeef"
    (debris / "_temporary" / "0").mkdir(parents=True)
    (debris / "_temporary" / "0" / "part-0.parquet").write_bytes(b"half")
    staging = tmp_path / "staging" / "2026-11-01"
    staging.mkdir(parents=True)
    (staging / "summary.json").write_text("{}")
    result = vacuum(lake, retention_hours=0)
    assert not debris.exists()
    assert any(p.endswith("_temporary") for p in result["debris"])
    assert not staging.exists()  # written before "now - 0 h"
    assert lake.read("quarantine").num_rows == 1


def test_recent_staging_survives_the_default_retention(tmp_path):
    lake = Lake(str(tmp_path))
    staging = tmp_path / "staging" / "2020-01-01"  # an old night, staged just now (backfill)
    staging.mkdir(parents=True)
    (staging / "summary.json").write_text("{}")
    with lake.writer("setup"):
        pass
    vacuum(lake, retention_hours=168)
    assert staging.exists()


def test_maintain_compacts_checkpoints_and_keeps_data_and_label_snapshots(tmp_path):
    from catalog_ml.lake.maintenance import maintain

    lake = Lake(str(tmp_path))
    with lake.writer("setup"):
        for night in range(1, 6):  # five nights appended: five small files
            lake.append("quarantine", pa.Table.from_pylist(
                [{"dump_date": D1, "source_row": night, "product_id": f"p{night}",
                  "reasons": ["x"], "raw_record": "{}"}], schema=QUARANTINE.schema))
        lake.replace_slice("labels", _labels("A > B"), {"dump_date": D1, "source": "dump"})
        trained_on = lake.version("labels")
        lake.replace_slice("labels", _labels("A > C"), {"dump_date": D1, "source": "dump"})
        _model_trained_on(lake, trained_on)
    before = sorted(lake.read("quarantine").column("product_id").to_pylist())
    assert len(lake.table("quarantine").file_uris()) == 5

    result = maintain(lake, retention_hours=0)
    assert result["compact"]["quarantine"]["removed"] == 5
    assert len(lake.table("quarantine").file_uris()) == 1
    assert sorted(lake.read("quarantine").column("product_id").to_pylist()) == before
    log = tmp_path / "quarantine" / "_delta_log"
    assert list(log.glob("*.checkpoint.parquet")), "no checkpoint written"
    assert result["checkpoint"]["quarantine"] == lake.version("quarantine")
    old = DeltaTable(lake.path("labels"), version=trained_on).to_pyarrow_table()
    assert old.column("category").to_pylist() == ["A > B"]
    files_now = [f for f in (tmp_path / "quarantine").rglob("*.parquet")
                 if "_delta_log" not in f.parts]
    assert len(files_now) == 1  # the five replaced small files were vacuumed (retention 0)
