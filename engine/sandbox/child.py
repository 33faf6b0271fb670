"""The script process: reads requests (length-prefixed pickles) on stdin, runs each script or
expression under the sandbox's compile policy and guards, answers on stdout.

It limits its own memory (``RLIMIT_AS``: its size at start plus ``ZHITONGCHE_SCRIPT_MEMORY_MB``)
and, per call, its CPU time (``RLIMIT_CPU``: should its parent die mid-call, nobody kills it at
the wall-clock limit), and exits when its stdin closes (its parent is done or gone).
(No ``PR_SET_PDEATHSIG``: it fires when the parent *thread* ends, and workers are started from
short-lived threads.)
Helpers (the workday functions) are rebuilt here from a pickled factory and the caller's
``now``, cached by digest.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import signal
import sys
import traceback
from typing import Any, BinaryIO

from .policy import (
    BASE_HELPERS,
    MEMORY_LIMIT,
    SandboxError,
    check_weight,
    compile_expression,
    compile_script,
    namespace,
    script_results,
)
from .pool import load_reply

_HEADER_SIZE = 8
_helpers: dict[str, dict] = {}
_now: list[Any] = [None]
_MEMORY = pickle.dumps(("memory",))
_MEMORY_REPLY = len(_MEMORY).to_bytes(_HEADER_SIZE, "big") + _MEMORY


def _limit_memory() -> None:
    try:
        with open("/proc/self/statm", "rb") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_LIMIT, resource.RLIM_INFINITY))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError):
        pass


def _limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _read(stream: BinaryIO, n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def _write(stream: BinaryIO, message: Any) -> None:
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - a value that cannot cross (a class defined in the script)
        data = pickle.dumps(("error", SandboxError(f"the result cannot be stored: {exc}"), 0))
    stream.write(len(data).to_bytes(_HEADER_SIZE, "big") + data)
    stream.flush()


def _helpers_for(key: str, blob: bytes | None) -> dict:
    if key not in _helpers:
        if blob is None:
            raise SandboxError("the script process lost its helpers")
        factory, arg = pickle.loads(blob)
        _helpers[key] = factory(arg, lambda: _now[0])
    return _helpers[key]


def _line_of(exc: BaseException) -> int:
    if isinstance(exc, SyntaxError):
        return exc.lineno or 0
    lines = [frame.lineno or 0 for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == "<string>"]
    return lines[-1] if lines else 0


def _portable(exc: BaseException) -> BaseException:
    """The exception as the caller will see it (its own class when it can be pickled)."""
    exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    try:
        load_reply(pickle.dumps(exc))  # as the caller will read it
        return exc
    except Exception:  # noqa: BLE001
        return SandboxError(f"{exc.__class__.__name__}: {exc}")


def handle(request: dict) -> tuple:
    _now[0] = request.get("now")
    helpers = _helpers_for(*request["helpers"])
    globals_ = {**BASE_HELPERS, **helpers}
    context, external = pickle.loads(request["data"])
    if request["kind"] == "eval":
        value = eval(compile_expression(request["source"]), namespace(globals_, context, external))
        check_weight(value, "the expression's value")
        return ("ok", value)
    code = compile_script(request["source"])
    ns = namespace(globals_, context, external)
    before = list(ns)
    exec(code, ns)
    updates, deleted = script_results(ns, [k for k in before if k in context], globals_, external)
    check_weight(updates, "the script's data")
    return ("ok", updates, deleted)


def main() -> None:
    try:
        _serve()
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the caller went away


def _serve() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the replies
    import engine.workdays  # noqa: F401 - the helpers' module, loaded before the first call

    _limit_memory()
    _write(stdout, "ready")
    while True:
        header = _read(stdin, _HEADER_SIZE)
        if header is None:
            return  # the caller went away
        body = _read(stdin, int.from_bytes(header, "big"))
        if body is None:
            return
        try:
            request = pickle.loads(body)
            _limit_cpu(request.get("limit", 2.0))
            reply = handle(request)
        except MemoryError:
            reply = None
        except BaseException as exc:  # noqa: BLE001 - every error of the script goes back to the caller
            line = _line_of(exc)
            reply = ("error", _portable(exc), line)
        request = body = None
        if reply is None:  # out of memory: answer with bytes made at start, and make way for a new process
            stdout.flush()
            os.write(stdout.fileno(), _MEMORY_REPLY)
            return
        _write(stdout, reply)
