"""A PostgreSQL schema of the benchmark's own (created, and dropped unless kept)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine as SaEngine

from engine.db import database_url, make_engine, unreachable

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_url() -> str:
    return os.environ.get("ZHITONGCHE_BENCH_PG_URL") or os.environ.get("ZHITONGCHE_TEST_PG_URL") or DEFAULT_PG_URL


def reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    return unreachable(pg_url())


def _admin() -> SaEngine:
    return create_engine(database_url(pg_url()), isolation_level="AUTOCOMMIT")


def schema_exists(schema: str) -> bool:
    admin = _admin()
    try:
        with admin.connect() as conn:
            return (
                conn.execute(
                    text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
                ).first()
                is not None
            )
    finally:
        admin.dispose()


@contextmanager
def schema(name: str, keep: bool = False, fresh: bool = True) -> Iterator[tuple[SaEngine, dict[str, str]]]:
    """Yields (engine on the schema, env for child processes using it)."""
    admin = _admin()
    with admin.connect() as conn:
        if fresh:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))  # case search index
    engine = make_engine(pg_url(), connect_args={"options": f"-csearch_path={name},public"})
    env = {"ZHITONGCHE_DATABASE_URL": pg_url(), "ZHITONGCHE_DB_SCHEMA": name}
    try:
        yield engine, env
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()
