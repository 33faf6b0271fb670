"""Two application hosts on one machine: Linux network namespaces joined to the host by veth
pairs, each running the web server (gunicorn, as `zhitongche run` does) and a worker, both on
one PostgreSQL.

The local PostgreSQL listens on 127.0.0.1 only; a small TCP relay on each veth's host side
(10.x.y.1) passes the hosts' connections to it, so the servers reach the database over the
network exactly as a second machine would. Needs root (the tests run as root) and iproute2.
"""

from __future__ import annotations

import os
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        self.target = target
        super().__init__(listen, _RelayHandler)


class _RelayHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        upstream = socket.create_connection(self.server.target)

        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        back.start()
        pump(self.request, upstream)
        back.join()
        upstream.close()


@dataclass
class Host:
    name: str  # namespace name
    address: str  # the host's address inside its namespace
    gateway: str  # the veth's other end (this machine)
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.address}:8000"

    def spawn(self, args: list[str], env: dict, log: Path) -> subprocess.Popen:
        handle = open(log, "wb")
        self.logs.append(log)
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        )
        handle.close()
        self.processes.append(process)
        return process


class TwoHosts:
    """Namespaces ``<prefix>a`` and ``<prefix>b``; ``start(env)`` runs gunicorn and a worker on each."""

    def __init__(self, tmp: Path, db_port: int = 5432):
        n = os.getpid() % 200 + 20
        self.prefix = f"ztc{os.getpid()}"
        self.tmp = tmp
        self.hosts = [
            Host(f"{self.prefix}a", f"10.231.{n}.2", f"10.231.{n}.1"),
            Host(f"{self.prefix}b", f"10.231.{n}.6", f"10.231.{n}.5"),
        ]
        self.db_port = db_port
        self.relays: list[_Relay] = []
        self.relay_port = 0

    def __enter__(self) -> TwoHosts:
        try:
            for i, host in enumerate(self.hosts):
                outer, inner = f"{self.prefix}o{i}", f"{self.prefix}i{i}"
                sh("ip", "netns", "add", host.name)
                sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
                sh("ip", "link", "set", inner, "netns", host.name)
                sh("ip", "addr", "add", f"{host.gateway}/30", "dev", outer)
                sh("ip", "link", "set", outer, "up")
                sh("ip", "netns", "exec", host.name, "ip", "addr", "add", f"{host.address}/30", "dev", inner)
                sh("ip", "netns", "exec", host.name, "ip", "link", "set", inner, "up")
                sh("ip", "netns", "exec", host.name, "ip", "link", "set", "lo", "up")
                relay = _Relay((host.gateway, self.relay_port), ("127.0.0.1", self.db_port))
                self.relay_port = relay.server_address[1]  # the same port on both gateways
                threading.Thread(target=relay.serve_forever, daemon=True).start()
                self.relays.append(relay)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def database_url(self, host: Host) -> str:
        return f"postgresql://postgres@{host.gateway}:{self.relay_port}/test"

    def start(self, env: dict, *, workers: bool = True) -> None:
        for host in self.hosts:
            metrics_dir = self.tmp / f"prometheus-{host.name}"  # shared by the host's processes
            metrics_dir.mkdir()
            host_env = {
                **env,
                "ZHITONGCHE_DATABASE_URL": self.database_url(host),
                "ZHITONGCHE_UPLOAD_DIR": str(self.tmp / f"uploads-{host.name}"),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
            host.spawn(
                [
                    str(VENV_BIN / "gunicorn"),
                    "--bind",
                    f"{host.address}:8000",
                    "--workers",
                    "2",
                    "--threads",
                    "2",
                    "--access-logfile",
                    "-",
                    "webapp:create_app()",
                ],
                host_env,
                self.tmp / f"{host.name}-web.log",
            )
            if workers:
                host.spawn(
                    [sys.executable, "-m", "webapp.cli", "worker", "--poll", "0.2", "--id", f"worker-{host.name}"],
                    host_env,
                    self.tmp / f"{host.name}-worker.log",
                )
        for host in self.hosts:
            wait_until(lambda: _answers(host.url + "/healthz"), what=f"the web server of {host.name}", logs=host.logs)

    def __exit__(self, *exc) -> None:
        for host in self.hosts:
            for process in host.processes:
                if process.poll() is None:
                    process.terminate()
            for process in host.processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for relay in self.relays:
            relay.shutdown()
            relay.server_close()
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True)
        for i in range(len(self.hosts)):
            subprocess.run(["ip", "link", "del", f"{self.prefix}o{i}"], capture_output=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered (e.g. 503 before a worker is seen)
    except OSError:
        return False


def wait_until(predicate, *, what: str, limit_s: float = 90.0, logs: list[Path] = ()) -> None:
    """Poll until ``predicate()`` (a generous limit, only against hanging; never a timing assert)."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            tail = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs if p.exists())
            raise AssertionError(f"gave up waiting for {what}\n{tail}")
        time.sleep(0.2)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """A person's browser, sending its cookies to whichever host it is pointed at."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.token: str | None = None
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(self, method: str, url: str, body: bytes | None = None, content_type: str | None = None):
        req = urllib.request.Request(url, data=body, method=method)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            response = self.opener.open(req, timeout=30)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            status, data = response.status, response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        text = data.decode("utf-8", "replace")
        match = _CSRF.search(text)
        if match:
            self.token = match.group(1)
        return status, data

    def get(self, url: str):
        return self.request("GET", url)

    def post_form(self, url: str, fields: dict):
        fields = {"csrf_token": self.token, **fields}
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return self.request("POST", url, body, "application/x-www-form-urlencoded")

    def post_multipart(self, url: str, fields: dict):
        from werkzeug.test import encode_multipart

        boundary, body = encode_multipart({"csrf_token": self.token, **fields})
        return self.request("POST", url, body, f"multipart/form-data; boundary={boundary}")

    def login(self, base: str, username: str, password: str) -> Client:
        self.get(base + "/login")
        status, _ = self.post_form(base + "/login", {"username": username, "password": password})
        assert status == 302, f"{username} could not log in on {base}"
        self.get(base + "/")
        return self
