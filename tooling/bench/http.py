"""(c) the full stack over HTTP: gunicorn (production WSGI server) serving ``webapp:create_app()``,
N concurrent clients completing user tasks through the REST API (/api/v1) with a Bearer token.

Only 127.0.0.1; the server is a child process of the benchmark, stopped at the end. No web
framework is imported here (the engine imports no Flask): the app runs in gunicorn.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from engine.clock import SystemClock
from engine.config import SERVER_THREADS
from engine.models import User
from engine.tokens import create_token

from . import scenario
from .inprocess import Rig

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the gunicorn master we started, by its pid
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(env: dict, workdir: Path, workers: int = 2, threads: int = SERVER_THREADS) -> Server:
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [
        str(gunicorn) if gunicorn.exists() else sys.executable,
        *([] if gunicorn.exists() else ["-m", "gunicorn"]),
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"{HOST}:{port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "webapp:create_app()",
    ]
    process = subprocess.Popen(
        cmd,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not answer within 60 s")


#: who does each role's tasks in (c): a demo user of that role (engine.users.demo_users)
ROLE_USERS = {scenario.WG: "wg.city", scenario.UNIT: "unit.zrzyj", scenario.HEAD: "head.zrzyj"}
ENTERPRISE = "ent.demo1"


def prepare(rig: Rig) -> dict[str, str]:
    """The demo users (an enterprise, and one official per role of the happy path) and an API
    token of each: {role or "enterprise": token}. Cases are submitted over HTTP by the run."""
    from engine.config import Settings
    from engine.names import load_directory
    from engine.users import ensure_demo_users

    rig.engine.clock = SystemClock()  # the server runs on the system clock
    directory = load_directory(Path(Settings().processes_dir) / "directory.json")
    tokens: dict[str, str] = {}
    with rig.Session.begin() as s:
        ensure_demo_users(s, directory)
        for role, username in [*ROLE_USERS.items(), ("enterprise", ENTERPRISE)]:
            user = s.scalars(select(User).where(User.username == username)).one()
            tokens[role] = create_token(s, user, "bench")[1]
    return tokens


class ApiError(Exception):
    pass


class Client:
    """One keep-alive connection of one user (a Bearer token)."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()  # a dropped keep-alive connection: open a new one once
                if attempt:
                    raise
        if response.status >= 300:
            raise ApiError(f"{method} {path}: HTTP {response.status} {data[:300]!r}")
        return json.loads(data) if data else {}


class Person:
    """One bench client: the enterprise and one official per role, each on a connection of its own.
    A case is submitted over HTTP by the enterprise; every task is done by a user of its role,
    who first opens the task (GET, its form) and then completes it."""

    def __init__(self, port: int, tokens: dict[str, str]):
        self.users = {role: Client(port, token) for role, token in tokens.items()}

    def run_case(self, i: int, times: dict[str, list[float]]) -> str:
        form = {k: v for k, v in scenario.submission(i).items() if k not in ("enterprise_name", "uscc")}
        t0 = time.perf_counter()
        detail = self.users["enterprise"].call("POST", "/api/v1/cases", {"data": form})
        times["submit"].append(time.perf_counter() - t0)
        instance_id = detail["id"]
        for name, group, data in scenario.HAPPY_PATH:
            me = self.users[group]
            found = [t for t in detail.get("ready_tasks", []) if t["name"] == name]
            if len(found) != 1:  # the previous answer did not show it: look at the case as this user
                detail = me.call("GET", f"/api/v1/instances/{instance_id}")
                found = [t for t in detail.get("ready_tasks", []) if t["name"] == name]
            if len(found) != 1:
                raise ApiError(
                    f"case {instance_id}: expected one ready '{name}', "
                    f"got {[t['name'] for t in detail.get('ready_tasks', [])]}"
                )
            t0 = time.perf_counter()
            me.call("GET", f"/api/v1/tasks/{found[0]['id']}")
            t1 = time.perf_counter()
            detail = me.call("POST", f"/api/v1/tasks/{found[0]['id']}/complete", {"data": data})
            t2 = time.perf_counter()
            times["form"].append(t1 - t0)
            times["complete"].append(t2 - t1)
        return detail.get("status", "?")


def pct(values: list[float], q: float) -> float:
    """The q-quantile in ms (nearest rank); NaN for no values (printed as "nan", never a crash)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def spread(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 0.50), "p95_ms": pct(values, 0.95), "p99_ms": pct(values, 0.99)}


@dataclass
class HttpResult:
    database: str
    clients: int
    completions: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    times: dict = field(default_factory=lambda: {"submit": [], "form": [], "complete": []})
    completed_cases: int = 0
    cases: int = 0
    available: bool = True
    inbox: list[float] = field(default_factory=list)  # (g) inbox latencies while this level ran

    @property
    def per_s(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "database": self.database,
            "clients": self.clients,
            "completions": self.completions,
            "seconds": self.seconds,
            "tasks_per_s": self.per_s,
            "completed_cases": self.completed_cases,
            "cases": self.cases,
            **{k: spread(v) for k, v in self.times.items()},
            "median_ms": pct(self.times["complete"], 0.5),
            "p95_ms": pct(self.times["complete"], 0.95),
            "inbox": spread(self.inbox),
            "errors": self.errors[:5],
            "n_errors": len(self.errors),
            "available": self.available,
        }


def api_available(port: int, token: str) -> bool:
    try:
        Client(port, token).call("GET", "/api/v1/tasks?per_page=1")
        return True
    except ApiError:
        return False


def probe_inbox(
    port: int, token: str, stop: threading.Event, out: list[float], pause_s: float = 0.05, limit: int | None = None
) -> None:
    """(g) The working group's inbox (GET /api/v1/tasks), again and again until ``stop`` (or ``limit``)."""
    client = Client(port, token)
    while not stop.is_set() and (limit is None or len(out) < limit):
        t0 = time.perf_counter()
        client.call("GET", "/api/v1/tasks?per_page=20")
        out.append(time.perf_counter() - t0)
        stop.wait(pause_s)


def drive(
    port: int,
    tokens: dict[str, str],
    n_cases: int,
    clients: int,
    database: str,
    first: int = 0,
    time_limit_s: float = 600,
    probe: bool = False,
) -> HttpResult:
    """``clients`` bench clients at once, ``n_cases`` cases in all (numbered from ``first``);
    with ``probe`` the working group's inbox is read all along (g)."""
    result = HttpResult(database, clients, cases=n_cases)
    if not api_available(port, tokens[scenario.WG]):
        result.available = False
        result.errors.append("GET /api/v1/tasks did not answer 200: the REST API is not served by create_app()")
        return result
    numbers = list(range(first, first + n_cases))
    shares = [numbers[i::clients] for i in range(clients)]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = time.monotonic() + time_limit_s
    stop = threading.Event()

    def work(mine: list[int]) -> None:
        person = Person(port, tokens)
        times: dict[str, list[float]] = {"submit": [], "form": [], "complete": []}
        done = 0
        errors = []
        start.wait()
        for i in mine:
            if time.monotonic() > deadline:
                errors.append("time limit reached")
                break
            try:
                done += person.run_case(i, times) == "completed"
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(str(exc)[:300])
        with lock:
            for k, v in times.items():
                result.times[k].extend(v)
            result.completed_cases += done
            result.errors.extend(errors)

    threads = [threading.Thread(target=work, args=(share,), daemon=True) for share in shares]
    for t in threads:
        t.start()
    prober = threading.Thread(target=probe_inbox, args=(port, tokens[scenario.WG], stop, result.inbox), daemon=True)
    start.wait()
    t0 = time.perf_counter()
    if probe:
        prober.start()
    for t in threads:
        t.join(time_limit_s + 60)
    result.seconds = time.perf_counter() - t0
    stop.set()
    if probe:
        prober.join(60)
    result.completions = len(result.times["complete"])
    return result


def idle_inbox(port: int, tokens: dict[str, str], n: int = 60) -> list[float]:
    """(g) the same inbox reads with nothing else running."""
    out: list[float] = []
    probe_inbox(port, tokens[scenario.WG], threading.Event(), out, limit=n)
    return out
