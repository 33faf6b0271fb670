"""Issue 20: an upgrade from the oldest schema (Alembic revision 0001) with cases in it. The
site in data/schema_0001_cases.json (frozen; see data/make_schema_0001.py) is loaded into a
database migrated to 0001, `zhitongche db-upgrade` brings it to the newest revision, then its
running case, its case waiting on a timer and its old on-disk attachment all go on; the
closed case stays closed. Every future migration must keep this green."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import shutil
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import DateTime, MetaData, create_engine, select, text

from engine.clock import FakeClock
from engine.db import make_engine, make_sessionmaker
from engine.models import HumanTask, Instance, StoredFile
from engine.runtime import Engine
from engine.worker import Worker
from tests.conftest import PG_URL, ROOT, _databases, _pg_available

DATA = Path(__file__).parent / "data"
MIGRATIONS = ROOT / "engine" / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@pytest.fixture(params=_databases())
def old_site(request, tmp_path, monkeypatch):
    """A database at revision 0001 holding the frozen site; the CLI's env points at it."""
    monkeypatch.delenv("ZHITONGCHE_DB_SCHEMA", raising=False)
    cleanup = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        reason = _pg_available()
        if reason:
            pytest.fail(f"PostgreSQL not reachable: {reason}")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        monkeypatch.setenv("ZHITONGCHE_DB_SCHEMA", schema)
        url = PG_URL

        def cleanup():
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    monkeypatch.setenv("ZHITONGCHE_DATABASE_URL", url)
    db = make_engine(url)
    cfg = _config()
    with db.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
    _load(db, json.loads((DATA / "schema_0001_cases.json").read_text(encoding="utf-8")))
    uploads = tmp_path / "uploads"
    shutil.copytree(DATA / "uploads_0001", uploads)
    monkeypatch.setenv("ZHITONGCHE_UPLOAD_DIR", str(uploads))
    yield db
    db.dispose()
    if cleanup:
        cleanup()


def _load(db, dump: dict) -> None:
    meta = MetaData()
    meta.reflect(db)
    sqlite = db.dialect.name == "sqlite"

    def value(v, column):
        if isinstance(v, dict) and "$datetime" in v:
            when = _dt.datetime.fromisoformat(v["$datetime"])
            if when.tzinfo is None:
                when = when.replace(tzinfo=_dt.UTC)
            return when.astimezone(_dt.UTC).replace(tzinfo=None) if sqlite else when
        if isinstance(v, dict) and "$date" in v:
            return _dt.date.fromisoformat(v["$date"])
        if isinstance(v, dict) and "$bytes" in v:
            return base64.b64decode(v["$bytes"])
        return v

    with db.begin() as conn:
        for table in meta.sorted_tables:
            rows = dump["tables"].get(table.name)
            if not rows:
                continue
            conn.execute(table.insert(), [{k: value(v, table.c[k]) for k, v in row.items()} for row in rows])
            if (
                not sqlite
                and "id" in table.c
                and table.c.id.autoincrement
                and not isinstance(table.c.id.type, DateTime)
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f'(SELECT max(id) FROM "{table.name}"))'
                    )
                )


def _ready(Session, instance_id: int) -> HumanTask:
    with Session() as session:
        return session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
        ).one()


def test_upgrade_from_the_oldest_schema_finishes_old_cases(old_site, tmp_path, monkeypatch):
    from engine.db import upgrade
    from webapp.cli import common, main

    opened = []

    def session_factory(settings, migrate=True):  # the CLI's own, keeping its engines to close them
        db = make_engine(settings.database_url)
        opened.append(db)
        if migrate:
            upgrade(db)
        return make_sessionmaker(db)

    monkeypatch.setattr(common, "session_factory", session_factory)

    result = CliRunner().invoke(main, ["db-upgrade"])
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with old_site.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
    moved = CliRunner().invoke(main, ["files-migrate", "--remove"])
    assert moved.exit_code == 0 and "moved 1" in moved.output, moved.output
    for db in opened:
        db.dispose()

    Session = make_sessionmaker(old_site)
    clock = FakeClock("2026-03-03T01:00:00+00:00")  # a day after the old site's cases were started
    engine = Engine(clock=clock)
    with Session() as session:
        cases = {i.business_key or i.process_version.process_id: i.id for i in session.scalars(select(Instance))}
        assert session.get(Instance, cases["OLD2"]).status == "completed"
    running, waiting = cases["OLD1"], cases["worker_timer"]
    answers = {
        "intake": {
            "decision": "受理",
            "category": "土地批复",
            "mode": "快速办",
            "lead_unit": "zrzyj",
            "coop_units": [],
            "deadline": "2026-03-11",
            "opinion": "升级后继续办理",
            "actions": [{"unit": "zrzyj", "item": "预审", "due": "2026-03-09"}],
        },
        "handle": {"result": "升级后办结"},
        "visit": {"satisfaction": "满意"},
    }
    for expected in ("intake", "handle", "visit"):
        task = _ready(Session, running)
        assert task.bpmn_id == expected
        with Session.begin() as session:
            engine.complete_task(session, task.id, answers[expected], "wg.city")
    assert Worker(Session, engine, channels={}, worker_id="after-upgrade").run(once=True).fired == 1
    with Session.begin() as session:
        engine.complete_task(session, _ready(Session, waiting).id, {}, "wg.city")
    with Session() as session:
        assert session.get(Instance, running).status == "completed"
        assert session.get(Instance, waiting).status == "completed"
        assert session.get(Instance, waiting).summary["fired"] == 1
        assert session.scalar(select(StoredFile.size).where(StoredFile.key == "202603/0ld0000000000001")) > 0

    # the old users log in with their passwords and the old attachment downloads from the database
    from engine.config import Settings
    from tests.web.conftest import Browser
    from webapp import create_app

    app = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "k",
            "SETTINGS": Settings(upload_dir=tmp_path / "gone", processes_dir=tmp_path / "p", forms_dir=tmp_path / "f"),
            "VAR_DIR": str(tmp_path / "var"),
            "UPLOAD_DIR": str(tmp_path / "gone"),
        }
    )
    ent = Browser(app.test_client()).login("ent.demo1", "old-password-1")
    with Session() as session:
        from engine.models import Attachment

        attachment_id = session.scalars(select(Attachment.id)).one()
    response = ent.client.get(f"/portal/files/{attachment_id}")
    assert response.status_code == 200
    assert response.get_data() == (DATA / "uploads_0001" / "202603" / "0ld0000000000001").read_bytes()
    response.close()
