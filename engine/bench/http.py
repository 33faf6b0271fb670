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
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from .. import cases
from ..clock import SystemClock
from ..models import User
from ..tokens import create_token
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


def start_gunicorn(env: dict, workdir: Path, workers: int = 2, threads: int = 4) -> Server:
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn) if gunicorn.exists() else sys.executable, *([] if gunicorn.exists() else ["-m", "gunicorn"]),
           "-w", str(workers), "--threads", str(threads), "-b", f"{HOST}:{port}", "--timeout", "120",
           "--log-level", "warning", "webapp:create_app()"]
    process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               cwd=str(Path(__file__).resolve().parents[2]))
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


def prepare(rig: Rig, n_cases: int) -> tuple[str, list[int]]:
    """A bench official in every group of the happy path, an API token, and ``n_cases`` cases
    waiting at intake (started in-process: the measured part is task completion)."""
    rig.engine.clock = SystemClock()  # the server runs on the system clock
    with rig.Session.begin() as s:
        user = s.scalars(select(User).where(User.username == "bench")).first()
        if user is None:
            user = User(username="bench", password_hash="!", display_name="bench", kind="official",
                        groups=list(scenario.BENCH_GROUPS), active=True)
            s.add(user)
            s.flush()
        _row, secret = create_token(s, user, "bench")
    ids = []
    for i in range(n_cases):
        with rig.Session.begin() as s:
            ids.append(cases.start_case(s, rig.engine, scenario.submission(i), actor="bench").id)
    return secret, ids


class ApiError(Exception):
    pass


class Client:
    """One keep-alive connection; drives its cases through the happy path."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}

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

    def run_case(self, instance_id: int, latencies: list[float]) -> str:
        detail = self.call("GET", f"/api/v1/instances/{instance_id}")
        for name, group, data in scenario.HAPPY_PATH:
            found = [t for t in detail.get("ready_tasks", [])
                     if t["name"] == name and group in (t.get("candidate_groups") or [])]
            if len(found) != 1:
                raise ApiError(f"case {instance_id}: expected one ready '{name}' for {group}, "
                               f"got {[t['name'] for t in detail.get('ready_tasks', [])]}")
            t0 = time.perf_counter()
            detail = self.call("POST", f"/api/v1/tasks/{found[0]['id']}/complete", {"data": data})
            latencies.append(time.perf_counter() - t0)
        return detail.get("status", "?")


@dataclass
class HttpResult:
    database: str
    clients: int
    completions: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    completed_cases: int = 0
    available: bool = True

    @property
    def per_s(self) -> float:
        return self.completions / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        lat = sorted(self.latencies)
        return {"database": self.database, "clients": self.clients, "completions": self.completions,
                "seconds": self.seconds, "tasks_per_s": self.per_s, "completed_cases": self.completed_cases,
                "median_ms": 1000 * statistics.median(lat) if lat else None,
                "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))] if lat else None,
                "errors": self.errors[:5], "n_errors": len(self.errors), "available": self.available}


def api_available(port: int, token: str) -> bool:
    try:
        Client(port, token).call("GET", "/api/v1/tasks?per_page=1")
        return True
    except ApiError:
        return False


def drive(port: int, token: str, case_ids: list[int], clients: int, database: str,
          time_limit_s: float = 300) -> HttpResult:
    result = HttpResult(database, clients)
    if not api_available(port, token):
        result.available = False
        result.errors.append("GET /api/v1/tasks did not answer 200: the REST API is not served by create_app()")
        return result
    shares = [case_ids[i::clients] for i in range(clients)]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = time.monotonic() + time_limit_s

    def work(mine: list[int]) -> None:
        client = Client(port, token)
        latencies: list[float] = []
        done = 0
        errors = []
        start.wait()
        for instance_id in mine:
            if time.monotonic() > deadline:
                errors.append("time limit reached")
                break
            try:
                done += client.run_case(instance_id, latencies) == "completed"
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(str(exc)[:300])
        with lock:
            result.latencies.extend(latencies)
            result.completed_cases += done
            result.errors.extend(errors)

    threads = [threading.Thread(target=work, args=(share,), daemon=True) for share in shares]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(time_limit_s + 60)
    result.seconds = time.perf_counter() - t0
    result.completions = len(result.latencies)
    return result
