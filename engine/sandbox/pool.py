"""Script processes: a small pool of pre-started Python processes that run scripts and
unbounded expressions, each killed when it overruns its wall-clock limit.

A worker is ``python -c 'engine.sandbox.child.main()'`` talking length-prefixed pickles over its
stdin/stdout; it limits itself with ``RLIMIT_AS`` (memory) and, per call, ``RLIMIT_CPU`` (a
backstop should this process die mid-call), and exits when its stdin closes. Workers are reused between
calls (a call costs a pickle round trip); one that is killed or breaks is replaced at once, in the
background. When every worker is busy a caller waits for one (at most ``WAIT_FOR_IDLE``) before it
starts an extra one, let go afterwards. The pool is per process: after a fork the child starts its
own (``ZHITONGCHE_SCRIPT_WORKERS`` workers are kept, 2 by default).

Replies are read as untrusted: at most ``MAX_REPLY`` bytes, unpickled with an allow-list of
classes (plain data, dates, Decimal, exceptions), so that even a script that escaped
RestrictedPython in its process could not run code in this one.
"""

from __future__ import annotations

import atexit
import builtins
import decimal
import io
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .policy import MEMORY_LIMIT, SandboxError, SandboxMemoryLimit, SandboxTimeout

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = f"import sys; sys.path.insert(0, {_ROOT!r}); from engine.sandbox.child import main; main()"
STARTUP_LIMIT = 60.0  # seconds a new worker may take to import (a loaded CI machine)
GRACE = 0.2  # seconds on top of the script's limit for moving its data to and fro
WAIT_FOR_IDLE = 0.25  # seconds a caller waits for a busy worker before it starts an extra one
MAX_REPLY = 512 * 1024 * 1024  # bytes of one reply
_DATA_TYPES = {
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "str",
    "bytes",
    "bytearray",
    "int",
    "float",
    "complex",
    "bool",
    "range",
    "slice",
}
_SAFE_CLASSES = {
    "builtins": _DATA_TYPES
    | {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)},
    "datetime": {"datetime", "date", "time", "timedelta", "timezone"},
    "decimal": {"Decimal"}
    | {name for name, value in vars(decimal).items() if isinstance(value, type) and issubclass(value, ArithmeticError)},
    "engine.sandbox.policy": {"SandboxError", "SandboxTimeout", "SandboxMemoryLimit"},
}


class _ReplyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE_CLASSES.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} cannot come back from a script process")


def load_reply(data: bytes) -> Any:
    try:
        return _ReplyUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # noqa: BLE001 - whatever the bytes were
        raise SandboxError(f"the script's result cannot be read: {exc}") from None


def _idle_size() -> int:
    return max(1, int(os.environ.get("ZHITONGCHE_SCRIPT_WORKERS", "2")))


class _Died(Exception):
    pass


class _Overran(Exception):
    pass


class Worker:
    """One script process, used by one caller at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )  # Ctrl-C in a terminal reaches the server, not its script processes
        assert self.process.stdin is not None and self.process.stdout is not None  # both are pipes
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.ready = False
        self.known_helpers: set[str] = set()

    def _send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.stdin.write(_HEADER.pack(len(data)) + data)
            self.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _Died from None

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.stdout.fileno()
        poller = select.poll()  # (select.select fails on descriptors above 1023 in a busy server)
        poller.register(fd, select.POLLIN)
        chunks, left = [], n
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise _Overran
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise _Died
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _receive(self, deadline: float) -> Any:
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        if size > MAX_REPLY:
            raise _Died
        return load_reply(self._read(size, deadline))

    def wait_ready(self) -> None:
        if not self.ready:
            if self._receive(time.monotonic() + STARTUP_LIMIT) != "ready":
                raise _Died
            self.ready = True

    def kill(self) -> int | None:
        try:
            self.process.kill()
        except OSError:
            pass
        try:
            return self.process.wait(5)
        except subprocess.TimeoutExpired:  # a very busy machine: reaped when it is gone
            threading.Thread(target=self.process.wait, name="sandbox-reap", daemon=True).start()
            return None
        finally:
            self.close()

    def close(self) -> None:
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass


class Pool:
    """Idle workers, most recently used last; ``size`` workers (idle or busy) are kept started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)  # a worker came back (or a place for one)
        self._idle: list[Worker] = []
        self._busy = 0
        self._pid = os.getpid()
        self._topping_up = False

    def _forget_after_fork(self) -> None:
        """In a forked child: the parent's workers are not ours (close our copies of their pipes)."""
        for worker in self._idle:
            worker.close()
        self._idle, self._busy, self._topping_up = [], 0, False
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._pid = os.getpid()

    def _missing(self) -> int:
        return _idle_size() - len(self._idle) - self._busy

    def _top_up(self) -> None:
        """Start workers (without waiting for their imports) until ``size`` are started."""
        while True:
            with self._lock:
                if self._missing() <= 0 or self._pid != os.getpid():
                    self._topping_up = False
                    return
            try:
                worker = Worker()
            except OSError as exc:  # the kernel refused a process now: the next acquire tries again
                log.warning("could not start a spare script process: %s", exc)
                with self._lock:
                    self._topping_up = False
                return
            with self._lock:
                self._idle.insert(0, worker)  # behind the warm ones: acquire takes from the end
                self._freed.notify()

    def warm_up(self) -> None:
        """Start the workers now (a server or worker process that will run scripts)."""
        with self._lock:
            start = not self._topping_up and self._missing() > 0
            self._topping_up = self._topping_up or start
        if start:
            threading.Thread(target=self._top_up, name="sandbox-pool", daemon=True).start()

    def _acquire(self) -> Worker:
        """An idle worker; when all are busy, wait up to ``WAIT_FOR_IDLE`` for one to come back
        (scripts take milliseconds: starting a new interpreter costs far more CPU than the wait),
        then start an extra one, so that scripts running to their time limit never hold up the
        others for longer than that."""
        if os.getpid() != self._pid:
            self._forget_after_fork()
        deadline = time.monotonic() + WAIT_FOR_IDLE
        with self._lock:
            while not self._idle and self._missing() <= 0:
                left = deadline - time.monotonic()
                if left <= 0 or not self._freed.wait(left):
                    break
            worker = self._idle.pop() if self._idle else None
            self._busy += 1
        self.warm_up()
        return worker or self._start_extra()

    def _start_extra(self) -> Worker:
        """A new worker for a caller that found none idle. A refused start is tried once more
        (seen once on a busy machine: EFAULT from the spawn); a second refusal gives the place back."""
        try:
            return Worker()
        except OSError:
            pass
        try:
            return Worker()
        except OSError:
            with self._lock:
                self._busy -= 1
                self._freed.notify()
            raise

    def _release(self, worker: Worker | None) -> None:
        """Back to the idle list (None: it was killed); a worker beyond ``size`` is let go."""
        with self._lock:
            self._busy -= 1
            self._freed.notify()
            if worker is not None and os.getpid() == self._pid and self._missing() > 0:
                self._idle.append(worker)
                return
        if worker is not None:
            _retire(worker)
        else:
            self.warm_up()  # replace the killed one

    def run(self, request: dict, limit: float, helpers: tuple[str, bytes]) -> Any:
        """Send one request to a worker and return its reply; raise on overrun or a dead worker.
        A worker found dead before it got the request (it died idle) is replaced once."""
        digest, blob = helpers
        for attempt in (1, 2):
            acquired = self._acquire()
            worker: Worker | None = acquired
            sent = False
            try:
                acquired.wait_ready()
                request["helpers"] = (digest, None if digest in acquired.known_helpers else blob)
                acquired._send(request)
                sent = True
                reply = acquired._receive(time.monotonic() + limit + GRACE)
                acquired.known_helpers.add(digest)
                if reply[0] == "memory":
                    acquired.kill()
                    worker = None
                    raise SandboxMemoryLimit(f"stopped: it used more than {MEMORY_LIMIT // 2**20} MB of memory")
                return reply
            except _Overran:
                acquired.kill()
                ready, worker = acquired.ready, None
                if not ready:
                    raise SandboxError("the script process did not start in time") from None
                raise SandboxTimeout(f"stopped after the time limit of {limit:g} s") from None
            except _Died:
                code, worker = acquired.kill(), None
                if not sent and attempt == 1:
                    continue
                if code in (-signal.SIGXCPU, -signal.SIGKILL):
                    raise SandboxTimeout(f"stopped after the time limit of {limit:g} s") from None
                raise SandboxError(f"the script process ended unexpectedly (exit status {code})") from None
            except BaseException:  # interrupted while waiting: the worker's state is unknown
                if worker is not None:
                    worker.kill()
                    worker = None
                raise
            finally:
                self._release(worker)
        raise SandboxError("the script process did not start")

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
            try:
                worker.process.wait(1)
            except subprocess.TimeoutExpired:
                worker.kill()


def _retire(worker: Worker) -> None:
    """Let a worker go: it exits when its stdin closes; a thread reaps it."""
    worker.close()
    threading.Thread(target=worker.process.wait, name="sandbox-reap", daemon=True).start()


POOL = Pool()
atexit.register(POOL.shutdown)
