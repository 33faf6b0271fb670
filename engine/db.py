"""Database engine and sessions. The caller owns the transaction: engine functions take
a Session and flush at most; the web request, worker loop or CLI command commits."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///var/zhitongche.db"


def database_url(url: str | None = None) -> str:
    url = url or os.environ.get("ZHITONGCHE_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # let SQLAlchemy emit BEGIN itself, so a transaction's reads and writes are one unit
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
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
