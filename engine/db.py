"""Database engine and sessions. The caller owns the transaction: engine functions take
a Session and flush at most; the web request, worker loop or CLI command commits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///var/zhitongche.db"


def database_url(url: str | None = None) -> str:
    url = url or os.environ.get("ZHITONGCHE_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cursor.close()
            # let SQLAlchemy emit BEGIN itself, so a transaction's reads and writes are one unit
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")  # a reader: no write lock, never waits on a writer (WAL)
                return
            # Take the write lock up front: a deferred transaction that reads, then writes
            # after another writer committed, fails at once with SQLITE_BUSY_SNAPSHOT.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    schema = os.environ.get("ZHITONGCHE_DB_SCHEMA")
    if schema and url.startswith("postgresql"):
        # e.g. a test schema handed to worker subprocesses; an explicit option wins
        connect_args = dict(kwargs.pop("connect_args", None) or {})
        connect_args.setdefault("options", f"-csearch_path={schema}")
        kwargs["connect_args"] = connect_args
    return create_engine(url, **kwargs)


READ_ONLY = "ztc_read_only"
SQLITE_BUSY_MS = 30000


def reader(bind: Engine) -> Engine:
    """``bind`` whose transactions are reads: on SQLite a deferred ``BEGIN`` (no write lock;
    in WAL mode a reader never waits for a writer), elsewhere ``bind`` itself (PostgreSQL
    readers never wait for writers). A write in such a transaction may fail at once with
    SQLITE_BUSY when another connection writes (see ``is_busy``): the caller retries the
    unit in a writing transaction, or writes apart (``write_apart``)."""
    if bind.dialect.name != "sqlite":
        return bind
    return bind.execution_options(**{READ_ONLY: True})


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT)."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (``Session.execute`` types every result as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount


def _raw(conn: Connection) -> Any:
    """The driver's own connection (sqlite3's has ``execute``)."""
    return conn.connection.dbapi_connection


@contextmanager
def write_apart(bind: Engine, timeout_s: float = 0.5) -> Iterator[Session]:
    """A short writing transaction on a connection of its own, committed at the end, that
    waits at most ``timeout_s`` for the write lock (raises OperationalError after that).
    For a small write a read-only request must make (a session's last-seen time)."""
    ms = max(1, int(timeout_s * 1000))
    with bind.connect() as conn:
        sqlite = bind.dialect.name == "sqlite"
        if sqlite:
            # the pragma runs outside a transaction, so BEGIN IMMEDIATE waits only this long
            _raw(conn).execute(f"PRAGMA busy_timeout={ms}")
        else:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        try:
            with Session(bind=conn) as session:
                yield session
                session.commit()
            if conn.in_transaction():  # PostgreSQL: the session joined the SET LOCAL's transaction
                conn.commit()
        finally:
            if conn.in_transaction():
                conn.rollback()
            if sqlite:
                _raw(conn).execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")


@contextmanager
def read_only_session(bind: Engine, timeout_s: float = 2.0) -> Iterator[Session]:
    """A short read on a connection of its own that never takes a write lock: on SQLite a
    deferred transaction (in WAL mode readers do not wait for a writer) with a short busy
    timeout; on PostgreSQL a READ ONLY transaction with short statement and lock timeouts.
    For health checks, which must answer while another session holds the write lock."""
    ms = max(1, int(timeout_s * 1000))
    with bind.connect() as conn:
        sqlite = bind.dialect.name == "sqlite"
        if sqlite:
            conn.execution_options(**{READ_ONLY: True})
            conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
        else:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        try:
            with Session(bind=conn) as session:
                yield session
        finally:
            conn.rollback()
            if sqlite:  # the pooled connection goes back with its usual patience
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
                conn.rollback()


def unreachable(url: str | None = None) -> str | None:
    """None when the database answers, else why not (first line of the error)."""
    try:
        engine = create_engine(database_url(url))
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc).splitlines()[0]


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
