"""Issue 20: `zhitongche backup DIR` and `zhitongche restore DIR` round trip on SQLite and
PostgreSQL: cases (running, one with an attachment, one waiting on a timer, one closed), back
up, wipe the database, restore → the same rows, the attachment downloads, the cases go on."""

from __future__ import annotations

import hashlib
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import casefiles
from engine.backup import row_counts
from engine.clock import FakeClock
from engine.db import make_sessionmaker
from engine.deploy import files_from_paths
from engine.models import Base, HumanTask, Instance
from engine.names import Directory
from engine.runtime import Engine
from engine.users import ensure_demo_users
from engine.worker import Worker
from tests.conftest import ROOT, _databases, make_test_db
from tests.web.conftest import INTAKE_OK
from tests.web.conftest import test_files as webcase_files

PDF = b"%PDF-1.4\n" + hashlib.sha256(b"backup").digest() * 30000


@pytest.fixture(params=_databases())
def site(request, tmp_path, monkeypatch):
    """A database of its own (it is wiped), with the env the CLI reads pointing at it."""
    engine, cleanup = make_test_db(request.param, tmp_path)
    monkeypatch.delenv("ZHITONGCHE_DB_SCHEMA", raising=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SHOW search_path")).scalar().split(",")[0].strip().strip('"')
        monkeypatch.setenv("ZHITONGCHE_DB_SCHEMA", schema)
    monkeypatch.setenv("ZHITONGCHE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ZHITONGCHE_UPLOAD_DIR", str(tmp_path / "uploads"))
    yield engine
    cleanup()


def _wipe(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DROP TABLE "{table.name}" CASCADE'))
    else:
        engine.dispose()
        path = engine.url.database
        for suffix in ("", "-wal", "-shm"):
            try:
                import os

                os.remove(path + suffix)
            except FileNotFoundError:
                pass


def test_backup_wipe_restore_round_trip(site, tmp_path):
    clock = FakeClock("2026-03-02T01:00:00+00:00")
    engine = Engine(clock=clock)
    Session = make_sessionmaker(site)
    with Session.begin() as session:
        engine.deploy(
            session, {**webcase_files(), **files_from_paths([ROOT / "tests/worker/data/worker_timer.bpmn"])}, "ops"
        )
        ensure_demo_users(session, Directory())
    data = {
        "title": "备份测试",
        "enterprise_name": "朝阳示范新材料有限公司",
        "uscc": "x",
        "county": "city",
        "category": "土地批复",
        "urgency": "一般",
        "description": "说明" * 10,
    }
    with Session.begin() as session:
        running = engine.start(session, "webcase", {**data, "case_no": "B1"}, actor="ent.demo1", business_key="B1").id
        closed = engine.start(session, "webcase", {**data, "case_no": "B2"}, actor="ent.demo1", business_key="B2").id
        waiting = engine.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False}).id
        attachment = casefiles.store_upload(
            session,
            tmp_path / "uploads",
            filename="材料.pdf",
            stream=io.BytesIO(PDF),
            uploaded_by="ent.demo1",
            instance_id=running,
        )
        attachment_id = attachment.id
    for bpmn_id, answer in (
        ("intake", {**INTAKE_OK, "county": "city"}),
        ("handle", {"result": "已办结完毕"}),
        ("visit", {"satisfaction": "满意"}),
    ):
        with Session.begin() as session:
            task = session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == closed, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready"
                )
            ).one()
            engine.complete_task(session, task.id, _typed(answer), "tester")
    before = row_counts(site)
    assert before["instance"] == 3 and before["stored_file"] == 1

    folder = tmp_path / "backup"
    result = CliRunner().invoke(_cli(), ["backup", str(folder)])
    assert result.exit_code == 0, result.output
    assert "3 cases, 1 files in the database" in result.output
    _wipe(site)
    with pytest.raises(DBAPIError):
        row_counts(site)  # really gone
    result = CliRunner().invoke(_cli(), ["restore", "--yes", str(folder)])
    assert result.exit_code == 0, result.output
    site.dispose()
    assert row_counts(site) == before

    # the attachment downloads through the web app on the restored database
    from engine.config import Settings
    from webapp import create_app

    app = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "k",
            "SETTINGS": Settings(upload_dir=tmp_path / "none", processes_dir=tmp_path / "p", forms_dir=tmp_path / "f"),
            "VAR_DIR": str(tmp_path / "var"),
            "UPLOAD_DIR": str(tmp_path / "none"),
        }
    )
    from tests.web.conftest import Browser

    ent = Browser(app.test_client()).login("ent.demo1")
    response = ent.client.get(f"/portal/files/{attachment_id}")
    assert response.status_code == 200 and response.get_data() == PDF
    response.close()

    # the running case goes on, the timer fires once, the closed case stays closed
    with Session.begin() as session:
        task = session.scalars(
            select(HumanTask).where(HumanTask.instance_id == running, HumanTask.state == "ready")
        ).one()
        engine.complete_task(session, task.id, _typed({**INTAKE_OK, "county": "city"}), "wg.city")
    clock.advance(hours=2)
    Worker(Session, engine, channels={}, worker_id="after-restore").run(once=True)
    with Session() as session:
        assert (
            session.scalars(
                select(HumanTask.bpmn_id).where(HumanTask.instance_id == running, HumanTask.state == "ready")
            ).one()
            == "handle"
        )
        assert session.get(Instance, waiting).summary["fired"] == 1
        assert session.get(Instance, closed).status == "completed"


def _typed(form: dict) -> dict:
    """INTAKE_OK is form text; the engine takes typed values."""
    out = {k: v for k, v in form.items() if "." not in k}
    out.update(
        {
            "amount": 12.5,
            "staff": 30,
            "leader_attention": True,
            "actions": [{"unit": "zrzyj", "item": "完成用地预审", "due": "2026-03-09"}],
        }
        if "amount" in form
        else {}
    )
    return out


def _cli():
    from webapp.cli import main

    return main
