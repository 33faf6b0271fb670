"""Writing requests of one web process beyond its places wait before they start (issue 18 (g)):
the reads of the process keep their share of it. Reads and uploads are never held; a request
that has waited too long goes ahead; PostgreSQL gets 2 places by default, SQLite none."""

from __future__ import annotations

import threading
import time

import pytest

from engine.config import Settings
from webapp import admission

HANG = 30


class SlowApp:
    """A WSGI app whose writing requests run until ``release`` is set."""

    def __init__(self):
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if environ["REQUEST_METHOD"] != "GET" and not environ.get("CONTENT_TYPE", "").startswith("multipart/"):
                assert self.release.wait(HANG)
            start_response("200 OK", [])
            return [b"ok"]
        finally:
            with self.lock:
                self.running -= 1


def call(app, method, content_type="application/x-www-form-urlencoded"):
    out: dict = {}

    def run():
        out["body"] = b"".join(app({"REQUEST_METHOD": method, "CONTENT_TYPE": content_type}, lambda *a: None))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def wait_until(condition):
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.01)


def test_writes_beyond_the_places_wait_and_reads_and_uploads_do_not():
    inner = SlowApp()
    gate = admission.WriteGate(inner, 2)
    writes = [call(gate, "POST") for _ in range(3)]
    wait_until(lambda: inner.running == 2)
    threading.Event().wait(0.2)
    assert inner.running == 2  # the third write waits for a place

    read, read_out = call(gate, "GET")
    read.join(HANG)
    assert read_out["body"] == b"ok"  # a read answers while two writes run and one waits
    upload, upload_out = call(gate, "POST", "multipart/form-data; boundary=x")
    upload.join(HANG)
    assert upload_out["body"] == b"ok"  # an upload is not held behind them

    inner.release.set()
    for thread, out in writes:
        thread.join(HANG)
        assert out["body"] == b"ok"
    assert inner.most <= 2 + 1  # two writes (+ the read or the upload) at any time


def test_a_write_that_waited_too_long_goes_ahead(monkeypatch):
    monkeypatch.setattr(admission, "MAX_WAIT_S", 0.2)
    inner = SlowApp()
    gate = admission.WriteGate(inner, 1)
    first, _ = call(gate, "POST")
    wait_until(lambda: inner.running == 1)
    second, second_out = call(gate, "PUT")
    wait_until(lambda: inner.running == 2)
    assert inner.running == 2  # it went ahead after the wait, not for ever
    inner.release.set()
    first.join(HANG)
    second.join(HANG)
    assert second_out["body"] == b"ok"
    third, third_out = call(gate, "POST")  # the place of the one that went ahead was not taken twice
    third.join(HANG)
    assert third_out["body"] == b"ok"


@pytest.mark.parametrize(
    "setting, dialect, expected",
    [("", "postgresql", 2), ("", "sqlite", 0), ("4", "sqlite", 4), ("0", "postgresql", 0), (" 3 ", "postgresql", 3)],
)
def test_places_by_database_and_setting(setting, dialect, expected):
    assert admission.places(Settings(concurrent_writes=setting), dialect) == expected


def test_the_app_on_the_test_database_is_gated_as_its_dialect_says(app):
    gated, layer = False, app.wsgi_app
    while layer is not None:
        gated = gated or isinstance(layer, admission.WriteGate)
        layer = getattr(layer, "wsgi_app", None) or getattr(layer, "app", None)
    dialect = app.config["SESSIONMAKER"].kw["bind"].dialect.name
    assert gated == (dialect == "postgresql")
