"""At most a few writing requests of one web process run at once (issue 18, target (g)).

A web process runs one Python thread at a time. When all of a gunicorn worker's threads are
busy with steps, a read request (the inbox) gets a thread's share of the interpreter and
waits for it again after every database round trip: on PostgreSQL, with 16 clients writing,
the inbox's p95 went from 11 ms to 150 ms while the query itself stayed at 10 ms.

``WriteGate`` lets ``limit`` writing requests of the process run at once; the others wait for
a place sleeping (holding neither the interpreter nor anything in the database: they wait
before their first statement, so no lock order can deadlock). Reads never wait here. A
multipart request (an upload) is not gated: it reads its body from a possibly slow client.
A request that has waited ``MAX_WAIT_S`` goes ahead anyway, so the gate can slow the site
but never stop it.

Measured with ``zhitongche bench --only c`` (16 clients writing, the inbox read all along; one to
three runs each): inbox p95 under load ÷ idle on PostgreSQL 8–17 without the gate, 4.5–5.2 with 2
places, 6–7 with 3, 2.7 with 1 (which cost a third of the completions at 8 clients); the
completion rate stayed within noise with 2. On SQLite the gate only made the inbox slower
(2.4–2.6 → 5–6): there writers already wait for the database's one write lock asleep, and
reads never take it. ``ZHITONGCHE_CONCURRENT_WRITES`` sets the limit: unset, 2 on PostgreSQL
and none on SQLite; 0 turns the gate off.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from engine.config import Settings
from webapp.dbmode import AS_WRITER, READ_METHODS

log = logging.getLogger(__name__)

MAX_WAIT_S = 30.0
POSTGRESQL_PLACES = 2


def places(settings: Settings, dialect: str) -> int:
    """How many writing requests of one web process may run at once (0: no limit)."""
    if settings.concurrent_writes.strip():
        return max(0, int(settings.concurrent_writes))
    return POSTGRESQL_PLACES if dialect == "postgresql" else 0


def init_app(app: Flask, settings: Settings) -> None:
    bind = app.config["SESSIONMAKER"].kw.get("bind")
    limit = places(settings, bind.dialect.name if bind is not None else "")
    if limit:
        app.wsgi_app = WriteGate(app.wsgi_app, limit)  # type: ignore[method-assign]


class WriteGate:
    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app = wsgi_app
        self.places = threading.BoundedSemaphore(limit)

    def __call__(self, environ, start_response):
        if (environ.get("REQUEST_METHOD") in READ_METHODS and not environ.get(AS_WRITER)) or environ.get(
            "CONTENT_TYPE", ""
        ).startswith("multipart/"):
            return self.wsgi_app(environ, start_response)
        admitted = self.places.acquire(timeout=MAX_WAIT_S)
        if not admitted:
            log.warning(
                "%s %s waited %.0f s for a write place: going ahead",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                MAX_WAIT_S,
            )
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            if admitted:
                self.places.release()
