"""catalog_ml.lake.s3_lease: the conditional-put writer lease on a real S3 server (moto)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from catalog_ml.errors import ConflictError
from catalog_ml.lake import s3_lease
from catalog_ml.lake.lock import LEASE_FILE, LOCK_FOLDER, writer_lock

pytestmark = pytest.mark.cluster
D1 = dt.date(2026, 11, 1)


def client(options):
    return s3_lease._client(options)


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
