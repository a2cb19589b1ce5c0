"""A resident worker: ``catalog-ml`` commands run in one long-lived process that has imported
Great Expectations, torch and the steps' modules, and holds the encoders.

A cold ``catalog-ml nightly`` spends seconds importing (GX ~4 s, torch and transformers ~5 s)
and loading the encoders before it touches a product: on an incremental night that is most of
the night. ``catalog-ml worker`` pays it once. A command whose ``worker_socket`` names the
worker's socket sends it its arguments, its working folder and its stdout / stderr (as file
descriptors, over the Unix socket), and gets the exit code back: its output, its files and its
exit codes are those of the command run in its own process.

A command runs in the worker only with the settings it would have had in the client: the
worker reads the command's settings as the client does (its environment and settings file, then
the command's options such as ``--lake``) and compares them, setting by setting, with the
client's. Where they differ (another environment: other encoders, another Spark master, ...)
the client is told which settings differ and runs the command itself, so a worker never runs a
night with settings the client did not ask for. Settings cross as digests, never as values
(they hold storage secrets). Only the same user may connect: the socket
is 0600 in a folder of its own, and the peer's uid is checked. One command runs at a time;
clients that come meanwhile wait their turn, as they would for the lake's writer lock.

A client that goes away while its command runs (Ctrl-C, an Airflow task marked failed or past
its ``execution_timeout``) stops the command: the worker watches the connection and raises
``ClientGone`` in the command, as SIGTERM raises ``WorkerStopping``; every commit is atomic, so
what it committed is whole and the rest was not written. The next client is served as usual.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import select
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from catalog_ml.config import Settings
from catalog_ml.errors import (
    EXIT_CONFIG,
    EXIT_CONFLICT,
    EXIT_DATA,
    EXIT_ENVIRONMENT,
    ConfigError,
    ConflictError,
    DataError,
    EnvironmentFault,
)

log = logging.getLogger(__name__)
# Commands that load heavy modules or the encoders: the ones worth sending to the worker.
FORWARDED = ("nightly", "report")
# Settings that say how a process runs, not what a command computes.
PROCESS_SETTINGS = frozenset({"worker_socket", "warm_encoders"})
MAX_HEADER_BYTES = 1 << 20
# A command's exit code back to the error it stood for, for callers that raise (Airflow tasks).
_ERRORS: dict[int, type[Exception]] = {EXIT_DATA: DataError, EXIT_CONFIG: ConfigError,
                                       EXIT_ENVIRONMENT: EnvironmentFault,
                                       EXIT_CONFLICT: ConflictError}
_LENGTH = struct.Struct("!I")
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C
CANCEL_SIGNAL = signal.SIGUSR1  # how the watcher stops a command in the main thread
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR",
                                                     "CRITICAL")}


class WorkerStopping(BaseException):
    """SIGTERM: the worker stops, even in the middle of a command (whose commits are atomic)."""


class ClientGone(BaseException):
    """The running command's client closed its connection: the command stops where it is."""


def fingerprint(settings: Settings) -> dict[str, str]:
    """A digest per setting: enough to name the settings that differ, nothing to read back."""
    values = dataclasses.asdict(settings)
    return {name: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode())
            .hexdigest()[:16]
            for name, value in values.items() if name not in PROCESS_SETTINGS}


def differences(ours: dict[str, str], theirs: dict[str, str]) -> list[str]:
    return sorted(name for name in ours.keys() | theirs.keys()
                  if ours.get(name) != theirs.get(name))


# --- the client ---------------------------------------------------------------------------

def forward(path: str, argv: list[str], settings: Settings,
            streams: tuple[int, int] | None = None) -> int | None:
    """``catalog-ml ARGV`` run by the worker on ``path``: its exit code, or None (with a
    warning saying why) when the command should run in this process instead. Its output goes
    to ``streams`` (two file descriptors; default: this process's stdout and stderr)."""
    header = {"argv": argv, "cwd": os.getcwd(), "settings": fingerprint(settings)}
    try:
        conn = _connect(path)
    except OSError as exc:
        log.warning("worker_socket %s: no worker answers (%s); running here", path,
                    exc.strerror or exc)
        return None
    with conn:
        sys.stdout.flush()
        sys.stderr.flush()
        _send(conn, header, fds=list(streams or (sys.stdout.fileno(), sys.stderr.fileno())))
        try:
            reply = _reply(conn)
        except KeyboardInterrupt:  # closing the connection stops the command in the worker
            print(f"catalog-ml: interrupted: the worker on {path} stops `{' '.join(argv)}`; "
                  "what it committed is complete, the rest is not written", file=sys.stderr)
            return EXIT_INTERRUPTED
    if reply is None:
        print(f"catalog-ml: environment: the worker on {path} stopped while running "
              f"`{' '.join(argv)}` (see its log); what it committed is complete, the rest was "
              "not written; run the command again", file=sys.stderr)
        return EXIT_ENVIRONMENT
    if "refused" in reply:
        log.warning("worker_socket %s: %s; running here", path, reply["refused"])
        return None
    return int(reply["exit"])


def step_in_worker(settings: Settings, step: str, night: dt.date, dump_dir: str | None
                   ) -> dict[str, Any] | None:
    """One step of a night run by the worker (``catalog-ml nightly --step``), as an Airflow
    task calls it: the step's result (its XCom), or None when it should run here. Its log is
    logged here, line by line at each line's level; a failure is raised as the error the step
    raised (by exit code), so the task fails at once or is retried as it would be here."""
    argv = ["nightly", "--step", step, "--date", night.isoformat()]
    if dump_dir:
        argv += ["--dump", dump_dir]
    out, err = _Drain(), _Drain(echo=_LogLines())
    try:
        code = forward(settings.worker_socket, argv, settings, (out.write_end, err.write_end))
    finally:
        out.close_write_end()
        err.close_write_end()
    output, errors = out.text(), err.text()
    if code is None:
        return None
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    if code == 0:
        prefix = f"[{night.isoformat()}] {step}: "
        line = next((ln for ln in reversed(output.splitlines()) if ln.startswith(prefix)), None)
        if line is None:
            raise RuntimeError(f"the worker ran {step} but printed no result:\n{output[-2000:]}")
        return dict(json.loads(line[len(prefix):]))
    message = next((ln.split(": ", 2)[-1] for ln in reversed(errors.splitlines())
                    if ln.startswith("catalog-ml: ")),
                   f"it exited {code} without a message (see the worker's log)")
    raise _ERRORS.get(code, RuntimeError)(f"in the worker: {message}")


class _LogLines:
    """The step's log lines, logged here at their own level: Airflow records what a task
    writes to stderr as errors, and a task log that is red on every line hides the real one."""

    def __init__(self) -> None:
        self._partial = ""
        self._level = logging.INFO

    def write(self, text: str) -> None:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._log(line)

    def flush(self) -> None:
        if self._partial:
            self._log(self._partial)
            self._partial = ""

    def _log(self, line: str) -> None:
        words = line.split(" ", 2)
        if len(words) > 1 and words[1] in _LEVELS:  # "12:00:01 INFO name: message"
            self._level = _LEVELS[words[1]]
        elif line.startswith("catalog-ml: "):  # the command's error message
            self._level = logging.ERROR
        # other lines (a traceback's, a progress line) keep the level of the line before
        log.log(self._level, "%s", line)


class _Drain:
    """A pipe whose read end a thread empties, so that the worker never blocks on it."""

    def __init__(self, echo: _LogLines | None = None) -> None:
        self._read_end, self.write_end = os.pipe()
        self._chunks: list[bytes] = []
        self._echo = echo
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with open(self._read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                self._chunks.append(chunk)
                if self._echo is not None:
                    self._echo.write(self._decoder.decode(chunk))
        if self._echo is not None:
            self._echo.write(self._decoder.decode(b"", final=True))
            self._echo.flush()

    def close_write_end(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.write_end)

    def text(self) -> str:
        self._thread.join()
        return b"".join(self._chunks).decode(errors="replace")


def ping(path: str, timeout_s: float | None = None) -> dict[str, Any] | None:
    """The worker's answer to ``ping`` (its pid and encoder version), or None if none answers
    (within ``timeout_s``: a worker still loading, or busy with a command, answers later)."""
    try:
        conn = _connect(path, timeout_s)
        with conn:
            _send(conn, {"ping": True}, fds=[])
            return _reply(conn)
    except OSError:  # TimeoutError included
        return None


def _connect(path: str, timeout_s: float | None = None) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout_s)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        raise
    return conn


def _send(conn: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
    payload = json.dumps(message).encode()
    socket.send_fds(conn, [_LENGTH.pack(len(payload)) + payload], fds)


def _reply(conn: socket.socket) -> dict[str, Any] | None:
    """The worker's one-line answer; None when it closed without one (it died)."""
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
    except ConnectionResetError:
        return None
    return dict(json.loads(data))


# --- the worker ---------------------------------------------------------------------------

def listen(path: str) -> socket.socket:
    """The worker's socket, bound and listening: 0600, in a folder made 0700 if it is new. A
    stale socket file (no one answers) is replaced; a live worker on it is a ConfigError."""
    target = Path(path).absolute()
    if target.exists() or target.is_symlink():
        with contextlib.suppress(OSError), _connect(str(target)):  # not ping: it may be busy
            raise ConfigError(f"worker_socket {target}: another worker is listening there")
        if not target.is_socket():
            raise ConfigError(f"worker_socket {target} exists and is not a socket")
        target.unlink()
    if not target.parent.exists():
        target.parent.mkdir(parents=True, mode=0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)  # born 0600: no moment where another user could connect
    try:
        listener.bind(str(target))
    except OSError as exc:
        listener.close()
        raise ConfigError(f"worker_socket {target}: cannot listen there ({exc.strerror})") from None
    finally:
        os.umask(old_mask)
    listener.listen(16)
    return listener


def close(listener: socket.socket) -> None:
    """Stop listening and remove the socket file."""
    path = listener.getsockname()
    listener.close()
    with contextlib.suppress(OSError):
        os.unlink(path)


def serve(listener: socket.socket, settings_of: Callable[[list[str]], tuple[str, Settings]],
          run: Callable[[list[str]], int], about: dict[str, Any],
          on_cancel: Callable[[], None] | None = None) -> None:
    """Run each client's command in this process, one at a time, until WorkerStopping.

    ``settings_of(argv)`` gives the command's name and the settings it would use here;
    ``run(argv)`` runs it (writing to ``sys.stdout`` / ``sys.stderr``) and returns its exit
    code; ``on_cancel()`` cleans up after a command stopped because its client went away (the
    CLI cancels its Spark jobs there)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(CANCEL_SIGNAL, _on_cancel_signal)
    try:
        while True:
            conn, _ = listener.accept()
            with conn:
                try:
                    _handle(conn, settings_of, run, about, on_cancel)
                except (OSError, ValueError) as exc:  # a client that went away, a bad request
                    log.warning("worker: a request failed: %s", exc)
    finally:
        close(listener)


def _handle(conn: socket.socket, settings_of: Callable[[list[str]], tuple[str, Settings]],
            run: Callable[[list[str]], int], about: dict[str, Any],
            on_cancel: Callable[[], None] | None = None) -> None:
    header, fds = _request(conn)
    try:
        refusal = _refusal(conn, header, fds)
        if refusal is not None:
            _answer(conn, {"refused": refusal})
            return
        if header.get("ping"):
            _answer(conn, {"ready": True, **about})
            return
        argv = [str(a) for a in header["argv"]]
        with _in_folder(str(header["cwd"])), _client_streams(fds) as (out, err):
            fds = []  # the streams own them now
            try:
                command, settings = settings_of(argv)
            except (Exception, SystemExit) as exc:  # the client will say so, running it
                _answer(conn, {"refused": f"its arguments or settings do not load here ({exc})"})
                return
            if command not in FORWARDED:
                _answer(conn, {"refused": f"it runs only {', '.join(FORWARDED)}"})
                return
            differ = differences(fingerprint(settings), dict(header["settings"]))
            if differ:
                _answer(conn, {"refused": "the worker runs with other settings: "
                               + ", ".join(differ)})
                return
            log.info("worker: catalog-ml %s", " ".join(argv))
            try:
                with (_ClientWatch(conn), contextlib.redirect_stdout(out),
                      contextlib.redirect_stderr(err)):
                    code = run(argv)
            except ClientGone:
                log.warning("worker: the client of `catalog-ml %s` went away: the command was "
                            "stopped; what it committed is complete", " ".join(argv))
                if on_cancel is not None:
                    on_cancel()
                return
        _answer(conn, {"exit": code})
        log.info("worker: exit %d", code)
    finally:
        for fd in fds:
            os.close(fd)


def _request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _address = socket.recv_fds(conn, 65536, 2)
    try:
        if len(data) < _LENGTH.size:
            raise ValueError("a request without its length")
        (length,) = _LENGTH.unpack(data[:_LENGTH.size])
        if length > MAX_HEADER_BYTES:
            raise ValueError(f"a request of {length} bytes")
        payload = data[_LENGTH.size:]
        while len(payload) < length:
            chunk = conn.recv(min(65536, length - len(payload)))
            if not chunk:
                raise ValueError("a request cut short")
            payload += chunk
        header = json.loads(payload)
        if not isinstance(header, dict):
            raise ValueError("a request that is not an object")
    except (ValueError, json.JSONDecodeError):
        for fd in fds:
            os.close(fd)
        raise
    return header, list(fds)


def _refusal(conn: socket.socket, header: dict[str, Any], fds: list[int]) -> str | None:
    if hasattr(socket, "SO_PEERCRED"):
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        if uid != os.getuid():
            return f"uid {uid} may not use this worker"
    if header.get("ping"):
        return None
    if not (isinstance(header.get("argv"), list) and isinstance(header.get("cwd"), str)
            and isinstance(header.get("settings"), dict)):
        return "a malformed request"
    if len(fds) != 2:
        return "a request without its stdout and stderr"
    if not (os.path.isdir(header["cwd"]) and os.access(header["cwd"], os.X_OK)):
        return f"its working folder {header['cwd']} cannot be entered here"
    return None


def _answer(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a client gone meanwhile needs no answer
        conn.sendall(json.dumps(message).encode() + b"\n")


@contextlib.contextmanager
def _in_folder(folder: str) -> Iterator[None]:
    """The client's working folder for the command: its relative paths mean the same here."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _client_streams(fds: list[int]) -> Iterator[tuple[TextIO, TextIO]]:
    out = open(fds[0], "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
               buffering=1, closefd=True)
    err = open(fds[1], "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
               buffering=1, closefd=True)
    try:
        yield out, err
    finally:
        for stream in (out, err):
            with contextlib.suppress(OSError):
                stream.close()


class _ClientWatch:
    """While a command runs: a thread that waits for its client's connection to close and then
    raises ``ClientGone`` in the command's thread (a client sends nothing after its request).

    In the main thread (``catalog-ml worker``) that is a signal, which also interrupts a
    blocking call such as a wait on Spark; in another thread (tests, embedding) an asynchronous
    exception, raised at its next Python instruction. Once the command is done, a late close
    changes nothing: the watcher fires only while ``running``, under the lock, and an
    exception it fired that has not landed yet is withdrawn (the command ended on its own).
    """

    current: _ClientWatch | None = None

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._target = threading.get_ident()
        self._by_signal = (threading.current_thread() is threading.main_thread()
                           and signal.getsignal(CANCEL_SIGNAL) is _on_cancel_signal)
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="worker-client-watch",
                                        daemon=True)
        self.running = False
        self.fired = False

    def __enter__(self) -> _ClientWatch:
        self.running = True
        _ClientWatch.current = self
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        try:
            with self._lock:
                self.running = False
            os.write(self._wake_write, b"x")
            self._thread.join()
        finally:  # ClientGone may land in here too: the watch is cleaned up all the same
            os.close(self._wake_read)
            os.close(self._wake_write)
            _ClientWatch.current = None
        if self.fired and not self._by_signal:  # one not raised yet would land after the command
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._target), None)

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self._conn.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        poller.register(self._wake_read, select.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self._wake_read in ready:
                return
            try:
                data = self._conn.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:  # a client has nothing more to say; what it sends anyway is dropped
                continue
            with self._lock:
                if self.running:
                    self.fired = True
                    self._interrupt()
            return

    def _interrupt(self) -> None:
        if self._by_signal:
            signal.pthread_kill(self._target, CANCEL_SIGNAL)
        else:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._target),
                                                       ctypes.py_object(ClientGone))


def _on_cancel_signal(signum: int, frame: object) -> None:
    watch = _ClientWatch.current
    if watch is not None and watch.fired and watch.running:
        raise ClientGone
