"""Writes schema_0001_cases.json: a site at the oldest schema (Alembic revision 0001) with
cases in it — one running (waiting at its first task, with an attachment on the local disk as
it was kept then), one waiting on a timer, one closed. tests/ops/test_upgrade.py loads it into
a database migrated to 0001 and upgrades. Run once (it was, with the engine of 2026-12); the
JSON is frozen on purpose: every future migration must upgrade it.

    .venv/bin/python tests/ops/data/make_schema_0001.py
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from sqlalchemy import MetaData, select  # noqa: E402

from engine.clock import FakeClock  # noqa: E402
from engine.db import make_engine, make_sessionmaker  # noqa: E402
from engine.deploy import files_from_paths  # noqa: E402
from engine.models import Attachment, HumanTask  # noqa: E402
from engine.names import Directory  # noqa: E402
from engine.runtime import Engine  # noqa: E402
from engine.users import ensure_demo_users  # noqa: E402

ROOT = HERE.parents[2]
PDF = b"%PDF-1.4\n% an attachment uploaded before files moved into the database\n" * 50


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = make_engine(f"sqlite:///{tmp}/old.db")
        cfg = Config()
        cfg.set_main_option("script_location", str(ROOT / "engine" / "migrations"))
        with db.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "0001")
        Session = make_sessionmaker(db)
        clock = FakeClock("2026-03-02T01:00:00+00:00")
        engine = Engine(clock=clock)
        files = {
            **{
                p.name: p.read_bytes()
                for p in (ROOT / "tests/web/data").iterdir()
                if p.name
                in (
                    "webcase.bpmn",
                    "intake.schema.json",
                    "intake.uischema.json",
                    "handle.schema.json",
                    "visit.schema.json",
                )
            },
            **files_from_paths([ROOT / "tests/worker/data/worker_timer.bpmn"]),
        }
        with Session.begin() as session:
            engine.deploy(session, files, "old-site")
            ensure_demo_users(session, Directory(), "old-password-1")
        data = {
            "title": "升级前的案件",
            "enterprise_name": "朝阳示范新材料有限公司",
            "uscc": "91211300MA0000001X",
            "county": "city",
            "category": "土地批复",
            "urgency": "一般",
            "description": "升级前提交的说明" * 3,
        }
        with Session.begin() as session:
            running = engine.start(
                session, "webcase", {**data, "case_no": "OLD1"}, actor="ent.demo1", business_key="OLD1"
            )
            closed = engine.start(
                session, "webcase", {**data, "case_no": "OLD2"}, actor="ent.demo1", business_key="OLD2"
            )
            engine.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False})
            session.add(
                Attachment(
                    instance_id=running.id,
                    filename="旧附件.pdf",
                    content_type="application/pdf",
                    size=len(PDF),
                    sha256=hashlib.sha256(PDF).hexdigest(),
                    storage_key="202603/0ld0000000000001",
                    uploaded_by="ent.demo1",
                    created_at=clock.now(),
                )
            )
        answers = {
            "intake": {
                "decision": "受理",
                "category": "土地批复",
                "mode": "快速办",
                "lead_unit": "zrzyj",
                "coop_units": [],
                "deadline": "2026-03-11",
                "opinion": "请尽快办理此事",
                "actions": [{"unit": "zrzyj", "item": "预审", "due": "2026-03-09"}],
            },
            "handle": {"result": "已经办结"},
            "visit": {"satisfaction": "满意"},
        }
        for bpmn_id in ("intake", "handle", "visit"):
            with Session.begin() as session:
                task = session.scalars(
                    select(HumanTask).where(
                        HumanTask.instance_id == closed.id, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready"
                    )
                ).one()
                engine.complete_task(session, task.id, answers[bpmn_id], "wg.city")
        meta = MetaData()
        meta.reflect(db)
        dump: dict = {"revision": "0001", "made_at": clock.now().isoformat(), "tables": {}}
        with db.connect() as conn:
            for table in meta.sorted_tables:
                if table.name == "alembic_version":
                    continue
                rows = [dict(r._mapping) for r in conn.execute(select(table))]
                if rows:
                    dump["tables"][table.name] = [{k: _plain(v) for k, v in r.items()} for r in rows]
        db.dispose()
    (HERE / "schema_0001_cases.json").write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    folder = HERE / "uploads_0001" / "202603"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0ld0000000000001").write_bytes(PDF)


def _plain(value):
    if isinstance(value, _dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    return value


if __name__ == "__main__":
    main()
