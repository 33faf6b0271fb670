"""Issue 20: two application hosts (two network namespaces, each with gunicorn and a worker)
on one PostgreSQL. A file uploaded through host A downloads through host B; a case started on
A is completed on B; timers fire exactly once with a worker on each host. Nothing is kept on
either host's disk."""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import os

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage

from engine.clock import FakeClock
from engine.db import make_sessionmaker
from engine.deploy import files_from_paths
from engine.models import Attachment, AuditEntry, HumanTask, Instance, StoredFile, WorkerHeartbeat
from engine.names import Directory
from engine.runtime import Engine
from engine.users import DEMO_PASSWORD, ensure_demo_users
from tests.conftest import ROOT, make_test_db
from tests.web.conftest import case_process_files
from tooling.bench.scenario import HAPPY_PATH, HEAD, UNIT, WG

from .hosts import Client, TwoHosts, wait_until

SUBMIT = {
    "title": "两地部署测试",
    "category": "土地批复",
    "county": "city",
    "description": "通过甲服务器提交，乙服务器办理。",
    "help_wanted": "尽快办理",
    "urgency": "紧急",
    "contact": "王经理",
    "mobile": "13900001111",
}


@pytest.fixture
def shared_db(tmp_path):
    engine, cleanup = make_test_db("postgresql", tmp_path)
    with engine.connect() as conn:
        schema = conn.execute(text("SHOW search_path")).scalar().split(",")[0].strip().strip('"')
    yield engine, schema
    cleanup()


def scrape(base: str) -> dict:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(base + "/metrics", headers={"Authorization": "Bearer scrape-token"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text_ = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text_)
        for s in family.samples
    }


def _ready_named(Session, name: str) -> int:
    with Session() as session:
        return session.scalars(select(HumanTask.id).where(HumanTask.name == name, HumanTask.state == "ready")).one()


def test_two_hosts_share_files_cases_and_timers(shared_db, tmp_path):
    db, schema = shared_db
    Session = make_sessionmaker(db)
    local = Engine()
    with Session.begin() as session:
        local.deploy(
            session, {**case_process_files(), **files_from_paths([ROOT / "tests/worker/data/worker_timer.bpmn"])}, "ops"
        )
        ensure_demo_users(session, Directory())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHITONGCHE_")}
    env |= {
        "ZHITONGCHE_DB_SCHEMA": schema,
        "ZHITONGCHE_SECRET_KEY": "two-hosts-shared-secret",
        "ZHITONGCHE_FORMS_DIR": str(tmp_path / "no-forms"),
        "ZHITONGCHE_NOTIFY_CHANNELS": "log",
        "ZHITONGCHE_CALENDAR_FILE": str(tmp_path / "no-calendar.json"),
        "ZHITONGCHE_METRICS_TOKEN": "scrape-token",
    }

    with TwoHosts(tmp_path) as hosts:
        hosts.start(env)
        a, b = hosts.hosts
        assert a.address != b.address

        # -- a file uploaded through A downloads through B (the same log-in, its cookie)
        data = (b"%PDF-1.4\n" + hashlib.sha256(b"two hosts").digest() * 40000)[:1_100_000]
        ent = Client().login(a.url, "ent.demo1", DEMO_PASSWORD)
        ent.get(a.url + "/portal/submit")
        status, _ = ent.post_multipart(
            a.url + "/portal/submit",
            {
                **SUBMIT,
                "attachments": FileStorage(io.BytesIO(data), filename="现场照片.pdf", content_type="application/pdf"),
            },
        )
        assert status == 302
        with Session() as session:
            attachment = session.scalars(select(Attachment)).one()
            instance_id = attachment.instance_id
            assert session.get(StoredFile, attachment.storage_key).size == len(data)
        status, body = ent.get(f"{b.url}/portal/files/{attachment.id}")
        assert status == 200 and body == data
        for host in hosts.hosts:  # neither host wrote the file to its own disk
            folder = tmp_path / f"uploads-{host.name}"
            assert not folder.exists() or not any(folder.rglob("*"))

        # -- the case started on A is completed on B
        wg = Client().login(b.url, "wg.city", DEMO_PASSWORD)
        status, body = wg.get(f"{b.url}/files/{attachment.id}")
        assert status == 200 and body == data
        # every step of the real case process's happy path, on B's task pages (the return visit
        # is a task of the called process ztc_return_visit)
        people = {
            WG: wg,
            UNIT: Client().login(b.url, "unit.zrzyj", DEMO_PASSWORD),
            HEAD: Client().login(b.url, "head.zrzyj", DEMO_PASSWORD),
        }
        for name, group, answers in HAPPY_PATH:
            task_id = _ready_named(Session, name)
            person = people[group]
            person.get(f"{b.url}/tasks/{task_id}")
            fields = {k: ("true" if v is True else "false" if v is False else v) for k, v in answers.items() if v != []}
            assert person.post_form(f"{b.url}/tasks/{task_id}", {**fields, "action": "complete"})[0] == 302, name
        with Session() as session:
            instance = session.get(Instance, instance_id)
            assert instance.status == "completed"

        # -- timers fire exactly once with a worker on each host
        n = 40
        past = Engine(clock=FakeClock(_dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=2)))
        with Session.begin() as session:
            ids = [
                past.start(session, "worker_timer", {"delay": "PT1H", "fired": 0, "fail": False}).id for _ in range(n)
            ]

        def all_fired() -> bool:
            with Session() as session:
                return (
                    session.scalar(
                        select(func.count())
                        .select_from(Instance)
                        .where(Instance.id.in_(ids), Instance.next_timer_at.is_(None))
                    )
                    == n
                )

        wait_until(all_fired, what="the timers", logs=[p for h in hosts.hosts for p in h.logs])
        with Session() as session:
            workers = {row.worker_id for row in session.scalars(select(WorkerHeartbeat))}
            assert {f"worker-{a.name}", f"worker-{b.name}"} <= workers  # one worker alive on each host
            for iid in ids:
                instance = session.get(Instance, iid)
                assert instance.summary["fired"] == 1  # the script after the timer ran once
                assert (
                    session.scalar(
                        select(func.count())
                        .select_from(AuditEntry)
                        .where(AuditEntry.instance_id == iid, AuditEntry.action == "timer")
                    )
                    == 1
                )
            logs = {
                h.name: "".join(p.read_text(errors="replace") for p in h.logs if "worker" in p.name)
                for h in hosts.hosts
            }
        assert all("Traceback" not in text_ for text_ in logs.values()), logs

        # -- metrics: each host adds up its gunicorn workers and its timer worker (multiprocess mode)
        timer_steps = 0
        for host in hosts.hosts:
            for _ in range(3):  # whichever gunicorn worker answers, the figures are the host's
                samples = scrape(host.url)
                submits = samples.get(
                    (
                        "zhitongche_http_requests_total",
                        (("endpoint", "/portal/submit"), ("method", "POST"), ("status", "302")),
                    ),
                    0,
                )
                assert submits == (1 if host is a else 0)
            timer_steps += samples.get(
                ("zhitongche_step_duration_seconds_count", (("kind", "timer"), ("outcome", "ok"))), 0
            )
            assert samples[("zhitongche_workers_alive", ())] == 2
        assert timer_steps == n
