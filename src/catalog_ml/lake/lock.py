"""One writer per lake: a lock that every step writing the lake holds while it writes.

Two runs of the same night (or a scheduled night and a backfill) would otherwise both compute
"what is missing" and both append it. With the lock the second waits, then sees the first's
commits; past ``lake_lock_timeout_s`` it fails with a retryable ``ConflictError`` naming the
holder.

On a local lake the lock is ``flock`` on ``<lake>/_catalog_ml/writer.lock``: the kernel
releases it when the holder dies, even by ``kill -9``, so a crash never leaves the lake locked.
On S3 (and S3-compatible stores) the lock is a lease object written with conditional puts
(``lake/s3_lease.py``): atomic, so two writers never both hold it. On other object stores a
lease object with an expiry, renewed by a heartbeat thread and read back after writing, keeps
honest writers apart (best effort; see README).

The lock is re-entrant within a process: a night that holds it can call steps that take it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog_ml.errors import ConflictError, describe_os_error

log = logging.getLogger(__name__)
LOCK_FOLDER = "_catalog_ml"
LOCK_FILE = "writer.lock"
LEASE_FILE = "writer.lease"
LEASE_SECONDS = 120.0
POLL_SECONDS = 0.5
_held: dict[str, int] = {}  # lake root -> nesting depth held by this process
_guard = threading.Lock()


def _holder(purpose: str) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
            "command": " ".join(sys.argv[:4]),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    return (f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('purpose')}, "
            f"since {holder.get('since')})")


@contextlib.contextmanager
def writer_lock(root: str, storage_options: dict[str, str], purpose: str,
                timeout_s: float, local: bool) -> Iterator[bool]:
    """Hold the lake's writer lock for the block; wait up to ``timeout_s`` for it.

    Yields True where this call took the lock, False where the process already held it."""
    with _guard:
        depth = _held.get(root, 0)
        _held[root] = depth + 1
    try:
        if depth:
            yield False
            return
        if local:
            with _flock(Path(root.removeprefix("file://")), purpose, timeout_s):
                yield True
        elif root.startswith("s3://"):
            from catalog_ml.lake.s3_lease import S3Lease

            lease = S3Lease(root, storage_options, f"{LOCK_FOLDER}/{LEASE_FILE}",
                            _holder(purpose), _describe)
            with lease.hold(timeout_s):
                yield True
        else:
            with _lease(root, storage_options, purpose, timeout_s):
                yield True
    finally:
        with _guard:
            _held[root] -= 1
            if not _held[root]:
                del _held[root]


@contextlib.contextmanager
def _flock(root: Path, purpose: str, timeout_s: float) -> Iterator[None]:
    import fcntl

    folder = root / LOCK_FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # held open while the lock is held; closed in the finally below
        handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise describe_os_error(exc, f"lake {root} is not writable: cannot create") from None
    deadline = time.monotonic() + timeout_s
    warned = False
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(handle)
                if time.monotonic() >= deadline:
                    raise ConflictError(
                        f"lake {root} is being written by {_describe(holder)}; waited "
                        f"{timeout_s:.0f} s (setting lake_lock_timeout_s). Retry when it "
                        "has finished") from None
                if not warned:
                    log.warning("lake %s is being written by %s; waiting up to %.0f s",
                                root, _describe(holder), timeout_s)
                    warned = True
                time.sleep(POLL_SECONDS)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(_holder(purpose)))
            handle.flush()
        except OSError as exc:
            raise describe_os_error(exc, f"lake {root}: cannot write the lock file") from None
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _read_holder(handle: Any) -> dict[str, Any] | None:
    try:
        handle.seek(0)
        return json.loads(handle.read() or "null")
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _lease(root: str, storage_options: dict[str, str], purpose: str,
           timeout_s: float) -> Iterator[None]:
    """Lease object on an object store: take it when absent or expired, renew while held."""
    from catalog_ml.lake.files import open_filesystem

    filesystem, base = open_filesystem(root, storage_options)
    path = f"{base}/{LOCK_FOLDER}/{LEASE_FILE}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout_s

    def read() -> dict[str, Any] | None:
        try:
            with filesystem.open_input_stream(path) as handle:
                return json.loads(handle.read())
        except (FileNotFoundError, ValueError):
            return None
        except OSError as exc:
            if "not found" in str(exc).lower() or "nosuchkey" in str(exc).lower():
                return None
            raise

    def write() -> None:
        lease = {**_holder(purpose), "token": token, "expires": time.time() + LEASE_SECONDS}
        with filesystem.open_output_stream(path) as handle:
            handle.write(json.dumps(lease).encode())

    try:
        while True:
            current = read()
            if current is None or current.get("expires", 0) < time.time():
                write()
                time.sleep(POLL_SECONDS)  # a racing writer's put lands in this window
                if (read() or {}).get("token") == token:
                    break
            if time.monotonic() >= deadline:
                raise ConflictError(f"lake {root} is being written by {_describe(current)}; "
                                    f"waited {timeout_s:.0f} s (setting lake_lock_timeout_s)")
            time.sleep(POLL_SECONDS * 4)
    except OSError as exc:
        raise describe_os_error(exc, f"lake {root}: cannot take the writer lease") from None

    def renew(stop: threading.Event) -> None:
        while not stop.wait(LEASE_SECONDS / 3):
            with contextlib.suppress(OSError):
                write()

    from catalog_ml.lake.s3_lease import heartbeat

    try:
        with heartbeat(renew):
            yield
    finally:
        with contextlib.suppress(OSError):
            if (read() or {}).get("token") == token:
                filesystem.delete_file(path)
