"""The lake's writer lock on S3: a lease object written with conditional puts.

S3 (and MinIO, R2, SeaweedFS, Ceph) refuse ``PUT If-None-Match: *`` on a key that exists and
``PUT If-Match: <etag>`` on one that changed, atomically. The lease is therefore taken by
creating ``<lake>/_catalog_ml/writer.lease`` only if absent, renewed and released only if it is
still the object this writer wrote, and taken over only if it is the very object (same ETag)
whose expiry was read. Two writers can never both hold it. A holder that stalls past the
lease (``LEASE_SECONDS`` without a renewal) loses it: its block then ends in a retryable
``ConflictError``, and because every step is idempotent the rerun repairs the night.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from catalog_ml.errors import ConflictError, EnvironmentFault

log = logging.getLogger(__name__)
LEASE_SECONDS = 120.0
POLL_SECONDS = 1.0
REFUSED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _client(options: Mapping[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    from catalog_ml.lake.files import _option, endpoint_of

    return boto3.client(
        "s3", endpoint_url=endpoint_of(options),
        aws_access_key_id=_option(options, "aws_access_key_id", "access_key_id"),
        aws_secret_access_key=_option(options, "aws_secret_access_key", "secret_access_key"),
        aws_session_token=_option(options, "aws_session_token", "session_token"),
        region_name=_option(options, "aws_region", "region") or "us-east-1",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10,
                      read_timeout=30))


@contextlib.contextmanager
def heartbeat(renew: Callable[[threading.Event], None]) -> Iterator[None]:
    """Run ``renew(stop)`` in a daemon thread for the block; stop and join it after."""
    stop = threading.Event()
    thread = threading.Thread(target=renew, args=(stop,), name="catalog-ml-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3Lease:
    """One attempt at holding the lease; ``hold()`` is the context manager."""

    def __init__(self, root: str, options: Mapping[str, str], key: str,
                 holder: Mapping[str, Any], describe: Callable[[Any], str]) -> None:
        bucket, _, prefix = root[len("s3://"):].partition("/")
        self.root, self.bucket = root, bucket
        self.key = f"{prefix.rstrip('/')}/{key}" if prefix else key
        self.client = _client(options)
        self.holder = dict(holder)
        self.describe = describe
        self.token = uuid.uuid4().hex
        self.etag: str | None = None
        self.lost = threading.Event()

    def _body(self) -> bytes:
        return json.dumps({**self.holder, "token": self.token,
                           "expires": time.time() + LEASE_SECONDS}).encode()

    def _put(self, **condition: str) -> bool:
        """A conditional put; True when it landed, False when the condition refused it."""
        from botocore.exceptions import ClientError

        try:
            reply = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(),
                                           ContentType="application/json", **condition)
        except ClientError as exc:
            if _code(exc) in REFUSED:
                return False
            raise
        self.etag = reply["ETag"]
        return True

    def _current(self) -> tuple[dict[str, Any] | None, str | None]:
        from botocore.exceptions import ClientError

        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None, None
            raise
        try:
            return json.loads(reply["Body"].read()), reply["ETag"]
        except ValueError:
            return {}, reply["ETag"]  # unreadable lease: treated as expired

    def acquire(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        warned = False
        while True:
            if self._put(IfNoneMatch="*"):
                return
            current, etag = self._current()
            if current is not None and etag and current.get("expires", 0) < time.time():
                if self._put(IfMatch=etag):  # take over exactly the expired lease we read
                    log.warning("lake %s: took over an expired writer lease of %s", self.root,
                                self.describe(current))
                    return
                continue
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"lake {self.root} is being written by {self.describe(current)}; waited "
                    f"{timeout_s:.0f} s (setting lake_lock_timeout_s). Retry when it has "
                    "finished")
            if not warned and current is not None:
                log.warning("lake %s is being written by %s; waiting up to %.0f s", self.root,
                            self.describe(current), timeout_s)
                warned = True
            time.sleep(POLL_SECONDS)

    def renew_until(self, stop: threading.Event) -> None:
        while not stop.wait(LEASE_SECONDS / 4):
            try:
                if not self._put(IfMatch=self.etag or "*"):
                    log.error("lake %s: the writer lease was taken by another writer",
                              self.root)
                    self.lost.set()
                    return
            except Exception as exc:  # a network blip: the next renewal may still land
                log.warning("lake %s: renewing the writer lease failed: %s", self.root, exc)

    def release(self) -> None:
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
            except ClientError as exc:
                if _code(exc) in REFUSED:
                    return  # no longer ours: leave the new holder's lease alone
                current, _ = self._current()  # a store without conditional deletes
                if current and current.get("token") == self.token:
                    self.client.delete_object(Bucket=self.bucket, Key=self.key)

    @contextlib.contextmanager
    def hold(self, timeout_s: float) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.acquire(timeout_s)
        except (ClientError, BotoCoreError) as exc:
            raise EnvironmentFault(f"lake {self.root}: cannot take the writer lease: "
                                   f"{_code(exc) or type(exc).__name__}") from None
        try:
            with heartbeat(self.renew_until):
                yield
        finally:
            if not self.lost.is_set():
                self.release()
        if self.lost.is_set():
            raise ConflictError(
                f"lake {self.root}: this writer stalled past its {LEASE_SECONDS:.0f} s lease "
                "and another writer took the lake; its commits stand, rerun the command to "
                "finish")
