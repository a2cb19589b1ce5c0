"""The lake and the landing zone on a real S3 server (moto, on loopback): Delta commits, the
conditional-put writer lease, dumps and photos read from the store."""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import pyarrow as pa
import pytest
from PIL import Image

from catalog_ml.dump import dump_readiness, read_dump
from catalog_ml.errors import ConflictError
from catalog_ml.lake import Lake, s3_lease
from catalog_ml.lake.lock import LEASE_FILE, LOCK_FOLDER, writer_lock
from catalog_ml.lake.tables import QUARANTINE
from catalog_ml.landing import DumpFolder
from catalog_ml.validation.images import check_images

from ..servers import running, start_s3

pytestmark = pytest.mark.cluster
D1 = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with running(tmp_path_factory.mktemp("s3")) as servers:
        yield start_s3(servers, ("lake", "landing"))


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


def test_the_lease_keeps_a_second_writer_out_and_names_the_holder(store):
    lake = "s3://lake/t2"
    with writer_lock(lake, store, "first night", 5, local=False) as taken:
        assert taken
        key = f"t2/{LOCK_FOLDER}/{LEASE_FILE}"
        holder = json.loads(client(store).get_object(Bucket="lake", Key=key)["Body"].read())
        assert holder["purpose"] == "first night"
        lease = s3_lease.S3Lease(lake, store, f"{LOCK_FOLDER}/{LEASE_FILE}",
                                 {"purpose": "second"}, lambda h: f"{h.get('purpose')}")
        started = time.monotonic()
        with pytest.raises(ConflictError, match="first night"), lease.hold(1.5):
            pass
        assert time.monotonic() - started >= 1.5
    with pytest.raises(Exception) as gone:  # released: the object is deleted
        client(store).head_object(Bucket="lake", Key=key)
    assert "404" in str(gone.value) or "Not Found" in str(gone.value)


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(store):
    key = f"t3/{LOCK_FOLDER}/{LEASE_FILE}"
    s3 = client(store)
    s3.put_object(Bucket="lake", Key=key, Body=json.dumps(
        {"purpose": "crashed", "token": "x", "expires": time.time() - 5}).encode())
    with writer_lock("s3://lake/t3", store, "after a crash", 5, local=False) as taken:
        assert taken
        body = json.loads(s3.get_object(Bucket="lake", Key=key)["Body"].read())
        assert body["purpose"] == "after a crash"


def test_a_stalled_writer_that_lost_its_lease_ends_in_a_conflict(store, monkeypatch):
    monkeypatch.setattr(s3_lease, "LEASE_SECONDS", 0.8)
    lease = s3_lease.S3Lease("s3://lake/t4", store, f"{LOCK_FOLDER}/{LEASE_FILE}",
                             {"purpose": "slow"}, str)
    key = f"t4/{LOCK_FOLDER}/{LEASE_FILE}"
    with pytest.raises(ConflictError, match="stalled"), lease.hold(5):
        client(store).put_object(Bucket="lake", Key=key, Body=b'{"purpose": "other"}')
        time.sleep(1.0)  # the renewal's If-Match fails: someone else wrote the lease
    body = client(store).get_object(Bucket="lake", Key=key)["Body"].read()
    assert b"other" in body  # the new holder's lease was left alone


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
