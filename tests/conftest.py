"""Shared fixtures.

Database tests run on SQLite and on PostgreSQL (``postgresql://postgres@127.0.0.1:5432/test``
or ``ZHITONGCHE_TEST_PG_URL``). Each test session works in a schema of its own, so
several test runs can share one PostgreSQL. An unreachable PostgreSQL is an error, never
a skip (``ZHITONGCHE_TEST_DATABASES=sqlite`` leaves it out on purpose). The schema comes from the models here;
``tests/test_migrations.py`` proves the Alembic migrations build the same schema.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.clock import FakeClock
from engine.db import make_engine, make_sessionmaker, unreachable
from engine.models import Base
from engine.runtime import Engine

ROOT = Path(__file__).resolve().parent.parent
# real BPMN written outside the project (tests/corpus/README.md: sources and licences)
CORPUS = Path(os.environ.get("ZHITONGCHE_CORPUS", ROOT / "tests" / "corpus"))
PG_URL = os.environ.get("ZHITONGCHE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    return unreachable(PG_URL)


def _databases() -> list[str]:
    wanted = os.environ.get("ZHITONGCHE_TEST_DATABASES", "sqlite,postgresql")
    return [d.strip() for d in wanted.split(",") if d.strip()]


def make_test_db(kind: str, tmp_dir: Path):
    """A migrated, empty database of ``kind``; returns (engine, cleanup)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_dir / 'test.db'}")
        Base.metadata.create_all(engine)
        return engine, engine.dispose
    reason = _pg_available()
    if reason:  # never a skip: a green run must have run on PostgreSQL too
        pytest.fail(
            f"PostgreSQL is not reachable ({reason}); start it, or run only the SQLite half "
            "with ZHITONGCHE_TEST_DATABASES=sqlite"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))  # case search (0006)
    # the test's own schema first; public for the pg_trgm operator class
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema},public"})
    Base.metadata.create_all(engine)

    def cleanup():
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return engine, cleanup


def pytest_collection_modifyitems(config, items):
    """A ``postgresql_only`` test (two transactions interleaving on row locks) runs on PostgreSQL
    alone: its SQLite variant is not collected (deselected, never a skip)."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        sqlite = params.get("db_engine") == "sqlite"
        (drop if sqlite and item.get_closest_marker("postgresql_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=_databases())
def db_engine(request, tmp_path_factory):
    engine, cleanup = make_test_db(request.param, tmp_path_factory.mktemp(request.param))
    yield engine
    cleanup()


def _truncate(engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def Session(db_engine):
    """A sessionmaker on a clean database (every table emptied after the test)."""
    yield make_sessionmaker(db_engine)
    _truncate(db_engine)


@pytest.fixture
def clock():
    return FakeClock("2026-03-02T01:00:00+00:00")  # Monday 09:00 in Beijing


@pytest.fixture
def engine(clock):
    return Engine(clock=clock)


@pytest.fixture
def deploy(engine, Session):
    """deploy(files dict or paths) → DeployResult, committed."""

    def _deploy(files, by="tester"):
        if not isinstance(files, dict):
            from engine.deploy import files_from_paths

            files = files_from_paths(files)
        with Session.begin() as session:
            return engine.deploy(session, files, by)

    return _deploy


@pytest.fixture(autouse=True)
def no_stuck_case_after_a_browser_test(request):
    """After every browser test, ``zhitongche doctor``'s scan of its database finds no stalled
    case and no case whose task list or timer disagrees with its state."""
    if request.node.get_closest_marker("browser") is None or "Session" not in request.fixturenames:
        yield
        return
    Session = request.getfixturevalue("Session")  # set up before, torn down after this fixture
    yield
    from engine.doctor import scan

    with Session() as session:
        report = scan(session, Engine())
    assert report.ok, "doctor: " + "; ".join(f.line() for f in report.findings)
