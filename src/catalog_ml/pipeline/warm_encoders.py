"""The encoders loaded in a second process while the night validates.

A small night runs in the driver (``driver_max_products``). There it spends seconds importing
torch, transformers and ONNX Runtime and loading the two encoders, and as long importing
Great Expectations and validating: both held to one core by Python's GIL, so in one process
they add up. ``run_night`` starts this process first: it loads the encoders on another core
while validation runs, then embeds the batches the embed step sends it.

It touches no table and holds no lock (the night holds the writer lock; the embed step writes
the vectors as before). It is ``python -m catalog_ml.pipeline.warm_encoders`` on one end of a
socket pair, not a ``multiprocessing`` child, so it never re-runs the caller's main script;
the settings it needs (with any storage secrets) come over the socket, not the command line.
Batches go in and vectors come out as Arrow IPC streams: nothing is pickled. If the process
cannot load its encoders, the embed step loads them in its own process as it would without it,
so an error in the settings is raised there, once, with the usual message; if it dies while
embedding, the step fails with an environment error and commits nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd
import pyarrow as pa

from catalog_ml.config import Settings
from catalog_ml.errors import EnvironmentFault

log = logging.getLogger(__name__)
READY = b"ready"
FAILED = b"failed:"
STOP = b""
READY_TIMEOUT_S = 600.0  # loading two encoders takes seconds; a hung child is given up on
_WARM: dict[str, WarmEncoders] = {}  # spec JSON -> the process holding those encoders
_RESIDENT: list[bool] = []  # non-empty in a resident worker: encoders stay in this process
_PRELOADING: list[threading.Thread] = []  # imports started meanwhile, joined with the child
# What a night imports on its way: a resident worker imports them once, before its first night.
NIGHT_MODULES = ("great_expectations", "catalog_ml.validation.suite",
                 "catalog_ml.pipeline.validate", "catalog_ml.pipeline.ingest",
                 "catalog_ml.pipeline.embed", "catalog_ml.pipeline.classify",
                 "catalog_ml.pipeline.publish",
                 "catalog_ml.models.ensemble")


def _to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()


def _serve(conn: Connection, spec_json: str, storage_options: dict[str, str]) -> None:
    """The child: load the encoders, say so, then embed each batch until told to stop."""
    try:
        from catalog_ml.pipeline.embed_batches import embed_rows, worker_encoders

        encoders = worker_encoders(spec_json, 1, storage_options)
    except BaseException as exc:  # the parent loads them itself and reports the error
        conn.send_bytes(FAILED + f"{type(exc).__name__}: {exc}".encode()[:2000])
        return
    conn.send_bytes(READY)
    while (payload := _receive(conn)) != STOP:
        try:
            answer = _to_ipc(embed_rows(encoders, _from_ipc(payload).to_pandas()))
        except Exception:  # a bug: its traceback goes to the parent, which raises it
            conn.send_bytes(FAILED + traceback.format_exc().encode())
            return
        conn.send_bytes(answer)
    conn.close()
    os._exit(0)  # nothing to flush: tearing down torch and ONNX Runtime took seconds


def _receive(conn: Connection) -> bytes:
    """The next batch; STOP when the parent has gone (its end closed, even by ``kill -9``)."""
    try:
        return conn.recv_bytes()
    except (EOFError, OSError):
        return STOP


def _child_main(fd: int) -> None:
    conn = Connection(fd)
    try:
        config = json.loads(conn.recv_bytes())
    except (EOFError, OSError):
        return
    os.dup2(2, 1)  # a library printing to stdout writes to the night's stderr
    _serve(conn, config["spec"], config["storage_options"])


class WarmEncoders:
    """A child process holding one encoder pair (``EncoderSpec``), started at once."""

    def __init__(self, spec_json: str, storage_options: dict[str, str]) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "catalog_ml.pipeline.warm_encoders", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send_bytes(json.dumps({"spec": spec_json,
                                          "storage_options": storage_options}).encode())
        self._ready: bool | None = None

    def ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Wait for the encoders; False (logged) when the child could not load them."""
        if self._ready is None:
            try:
                message = self._conn.recv_bytes() if self._conn.poll(timeout_s) else b"timed out"
            except (EOFError, OSError):
                message = b"exited"
            self._ready = message == READY
            if not self._ready:
                log.warning("embed: the encoder process is not usable (%s); loading the "
                            "encoders here", message.removeprefix(FAILED).decode(errors="replace"))
                self.close()
        return self._ready

    def embed(self, rows: pd.DataFrame) -> pa.Table:
        """``embed_rows`` in the child: the same Arrow columns, never a numpy round trip."""
        columns = ["title", "brand", "description", "image_uri"]
        table = pa.Table.from_pandas(rows[columns], preserve_index=False).cast(
            pa.schema([pa.field(c, pa.string()) for c in columns]))
        try:
            self._conn.send_bytes(_to_ipc(table))
            payload = self._conn.recv_bytes()
        except (EOFError, OSError):
            code = self._process.poll()
            raise EnvironmentFault(
                f"the encoder process exited (code {code}) while embedding, perhaps out of "
                "memory; run the night again, or set warm_encoders = false") from None
        if payload.startswith(FAILED):
            raise RuntimeError("the encoder process failed:\n"
                               + payload.removeprefix(FAILED).decode(errors="replace"))
        return _from_ipc(payload)

    @property
    def stopped(self) -> bool:
        return self._conn.closed

    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        self._process.kill()
        self._process.wait(10)

    def close(self) -> None:
        """Stop the child; again later is a no-op."""
        if self.stopped:
            return
        if self.alive():
            with contextlib.suppress(OSError, ValueError):
                self._conn.send_bytes(STOP)
            try:
                self._process.wait(1)
            except subprocess.TimeoutExpired:  # still loading: nothing of it is needed
                self.kill()
        self._conn.close()


def warm_for(spec_json: str) -> WarmEncoders | None:
    """The ready process holding these encoders, or None (embed in this process)."""
    warm = _WARM.get(spec_json)
    if warm is None or warm.stopped or not warm.ready():
        return None
    return warm


def preload_classifier() -> None:
    """Import what classify needs (torch, scikit-learn: seconds) in a thread while this
    process waits on the encoder process, whose pipe releases the GIL.

    ``warm_encoders`` joins the thread when its block ends: a night with nothing to classify
    can end first, and a thread still inside torch's import at interpreter exit aborted the
    process (``terminate called without an active exception``, exit -6)."""
    def load() -> None:
        for module in ("catalog_ml.models.ensemble", "catalog_ml.pipeline.classify"):
            importlib.import_module(module)

    thread = threading.Thread(target=load, name="catalog-ml-preload", daemon=True)
    thread.start()
    _PRELOADING.append(thread)


def _join_preloads() -> None:
    while _PRELOADING:
        _PRELOADING.pop().join()


def release(spec_json: str) -> None:
    """Stop the process holding these encoders now: the night embeds on Spark after all
    (more than ``driver_max_products``), so its memory is better given back."""
    warm = _WARM.get(spec_json)
    if warm is not None:
        warm.close()


def become_resident(settings: Settings) -> str:
    """This process stays up between commands (``catalog-ml worker``): import what a night
    needs and load the configured encoders now, and embed in this process from then on (no
    second process: here the encoders are already loaded). Returns the encoder version."""
    from PIL import Image

    from catalog_ml.features.encoders import EncoderSpec
    from catalog_ml.pipeline.embed_batches import embed_rows, worker_encoders

    _RESIDENT.append(True)
    for module in NIGHT_MODULES:
        importlib.import_module(module)
    spec = EncoderSpec.from_settings(settings).check()
    encoders = worker_encoders(spec.to_json(), 1, dict(settings.storage_options or {}))
    # one product through both encoders: the first batch's one-off costs are paid here
    with tempfile.TemporaryDirectory(prefix="catalog-ml-warm-up-") as folder:
        photo = Path(folder) / "warm-up.png"
        Image.new("RGB", (settings.image_size, settings.image_size), "white").save(photo)
        embed_rows(encoders, pd.DataFrame({"title": ["warm up"], "brand": [None],
                                           "description": [None],
                                           "image_uri": [photo.as_uri()]}))
    return spec.version


@contextlib.contextmanager
def warm_encoders(settings: Settings) -> Iterator[None]:
    """For the block, the configured encoders loading in a child process, when the night may
    embed in the driver (a local master, ``driver_max_products`` above 0, ``warm_encoders``
    on, not a resident worker). The child is stopped at the end, whatever happened."""
    if _RESIDENT or not (settings.warm_encoders and settings.driver_max_products > 0
                         and settings.spark_master.startswith("local")):
        yield
        return
    from catalog_ml.errors import CatalogMLError
    from catalog_ml.features.encoders import EncoderSpec

    try:
        spec_json = EncoderSpec.from_settings(settings).check().to_json()
    except CatalogMLError:  # the embed step raises it, with its step's context
        yield
        return
    warm = _WARM[spec_json] = WarmEncoders(spec_json, dict(settings.storage_options or {}))
    try:
        yield
    finally:
        _WARM.pop(spec_json, None)
        warm.close()
        _join_preloads()


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
