"""Readers never take the write lock (issue 18).

On SQLite a ``GET``/``HEAD``/``OPTIONS`` request runs its database session in a deferred
read transaction (``engine.db.reader``): in WAL mode it never waits for a writer, so the
inbox, a case page and the API lists answer while the worker or another request writes.
Writing requests keep ``BEGIN IMMEDIATE`` (the write lock from the first statement on;
a deferred transaction that reads and then writes after another writer committed fails).

A read request that must write anyway:

- the small bookkeeping writes (a session's last-seen time, a token's last use, at most
  once a minute) go through ``touch``: their own short writing transaction after the
  request's reads, skipped when the write lock is not free within half a second;
- any other write of a read request that meets another writer fails at once with
  SQLITE_BUSY; nothing of it was committed, and ``RetryAsWriter`` runs the whole request
  again once, this time as a writer (``BEGIN IMMEDIATE``, waiting for the lock as usual).

PostgreSQL readers never wait for writers: there every request keeps one ordinary session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, g, request
from sqlalchemy.orm import Session

from engine.db import is_busy, reader, write_apart

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AS_WRITER = "ztc.as_writer"  # environ: this run of the request is the retry, as a writer
RETRY = "ztc.retry_as_writer"  # environ: the read run met a writer; run the request again
TOUCH_WAIT_S = 0.5


def open_session(maker) -> Session:
    """The request's session: a reader on SQLite for a read request, else an ordinary one."""
    bind = maker.kw.get("bind")
    if (
        request.method in READ_METHODS
        and not request.environ.get(AS_WRITER)
        and bind is not None
        and bind.dialect.name == "sqlite"
    ):
        g.db_reads_only = True
        return maker(bind=reader(bind))
    return maker()


def touch() -> Callable[[Callable[[Session], object]], None] | None:
    """For engine functions' ``touch`` argument: in a read request, a function that makes a
    small write in its own short transaction (skipped under contention); else None (write
    in the request's session)."""
    if not g.get("db_reads_only"):
        return None
    return _write_apart


def _write_apart(write: Callable[[Session], object]) -> None:
    bind = current_app.config["SESSIONMAKER"].kw.get("bind")
    try:
        with write_apart(bind, TOUCH_WAIT_S) as session:
            write(session)
    except Exception as exc:  # noqa: BLE001 - bookkeeping only: the next request tries again
        if not is_busy(exc):
            raise
        log.info("skipped a bookkeeping write of %s %s: the database is busy", request.method, request.path)


def retry_as_writer(exc: BaseException) -> bool:
    """Called by the error handlers first: True when the read run of this request met a
    writer (SQLITE_BUSY on a write); the request is then run again as a writer."""
    if g.get("db_reads_only") and is_busy(exc):
        request.environ[RETRY] = True
        return True
    return False


def finish(db: Session, keep: bool) -> None:
    """Commit (``keep``) or roll back the request's session, and close it."""
    try:
        if keep:
            try:
                db.commit()
            except Exception as exc:
                if not retry_as_writer(exc):
                    raise
                db.rollback()
        else:
            db.rollback()
    finally:
        db.close()


class RetryAsWriter:
    """WSGI middleware: a read request whose read run met a writer runs once more as a writer.
    The first run's response is dropped unread (nothing of it was committed)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in READ_METHODS:
            return self.wsgi_app(environ, start_response)
        started: list = []

        def remember(status, headers, exc_info=None):
            started[:] = [status, headers, exc_info]
            return lambda data: None  # the write() callable: unused by Flask

        body = self.wsgi_app(environ, remember)
        if not environ.pop(RETRY, False):
            start_response(*started)
            return body
        if hasattr(body, "close"):
            body.close()
        log.info("%s %s met a writer: run again as a writer", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        environ[AS_WRITER] = True
        return self.wsgi_app(environ, start_response)
