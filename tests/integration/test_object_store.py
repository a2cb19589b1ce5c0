"""The lake and the landing zone on a real S3 server (moto, on loopback): Delta commits, and
dumps and photos read from the store."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pytest
from PIL import Image

from catalog_ml.lake import Lake, s3_lease
from catalog_ml.lake.tables import QUARANTINE
from catalog_ml.validation.dump import dump_readiness, read_dump
from catalog_ml.validation.images import check_images
from catalog_ml.validation.landing import DumpFolder

pytestmark = pytest.mark.cluster
D1 = dt.date(2026, 11, 1)


def client(options):
    return s3_lease._client(options)


def rows(n: int, tag: str = "") -> pa.Table:
    return pa.Table.from_pylist(
        [{"dump_date": D1, "source_row": i, "product_id": f"p{i}{tag}", "reasons": ["x"],
          "raw_record": "{}"} for i in range(n)], schema=QUARANTINE.schema)


def test_delta_tables_on_s3_commit_read_replace_and_time_travel(store):
    lake = Lake("s3://lake/t1", store)
    with lake.writer("test"):
        lake.append("quarantine", rows(3))
        lake.replace_slice("quarantine", rows(2, "-b"), {"dump_date": D1})
    assert sorted(lake.read("quarantine").column("product_id").to_pylist()) == ["p0-b", "p1-b"]
    assert lake.read("quarantine", version=0).num_rows == 0  # created empty by writer()
    assert lake.read("quarantine", version=1).num_rows == 3
    assert lake.initialised() and lake.require() is lake


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_dump_on_the_store_is_read_and_its_photos_checked_inside_its_prefix(store):
    s3 = client(store)
    prefix = "2026-11-02"
    csv = ("product_id,title,image\n"
           "p1,Red shirt,images/p1.jpg\n"
           "p2,Escaping,../2026-11-01/images/p9.jpg\n"
           "p3,Missing photo,images/none.jpg\n"
           "p4,Broken,images/broken.jpg\n"
           "p5,\"short, line\"\n")
    s3.put_object(Bucket="landing", Key=f"{prefix}/products.csv", Body=csv.encode())
    s3.put_object(Bucket="landing", Key=f"{prefix}/images/p1.jpg", Body=_jpeg())
    s3.put_object(Bucket="landing", Key=f"{prefix}/images/broken.jpg", Body=b"not a jpeg")
    folder = DumpFolder.at(f"s3://landing/{prefix}/", store)
    ready, why = dump_readiness(folder, "_SUCCESS", settle_s=3600)
    assert not ready and "waiting for _SUCCESS" in why
    s3.put_object(Bucket="landing", Key=f"{prefix}/_SUCCESS", Body=b"")
    assert dump_readiness(folder, "_SUCCESS", settle_s=3600)[0]

    raw = read_dump(f"s3://landing/{prefix}", store)
    assert raw.source_file == f"s3://landing/{prefix}/products.csv"
    assert raw.rows_received == 5 and [m.row for m in raw.malformed] == [5]
    checks = check_images(raw.folder, raw.frame["image"].tolist())
    states = [c.state for c in checks]
    assert states == ["ok", "outside", "missing", "corrupt"]
    assert checks[0].uri == f"s3://landing/{prefix}/images/p1.jpg" and checks[0].digest
    assert not DumpFolder.at("s3://landing/2026-12-31", store).exists()
