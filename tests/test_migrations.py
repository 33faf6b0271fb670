"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from engine.db import upgrade
from engine.models import Base
from tests.conftest import make_test_db


def _diff(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_migrations_match_models_on_sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert _diff(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar()


def test_migrations_match_models_on_postgresql(tmp_path):
    engine, cleanup = make_test_db("postgresql", tmp_path)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DROP TABLE "{table.name}" CASCADE'))
        upgrade(engine)
        assert _diff(engine) == []
    finally:
        cleanup()
