"""The article's reference table, reproduced: ``zhitongche demo --history`` generates cases,
bulletins, weekly reports and records since September 2019 through the real processes, and
the dashboard — its own queries, and the page's JSON — shows exactly the article's figures.

Slow (a few minutes): 300 cases run task by task through the engine, so it runs once, on
PostgreSQL (the production database); the rest of tests/stats covers both databases."""

from __future__ import annotations

import datetime as _dt

import pytest

from engine import stats
from engine.clock import FakeClock
from engine.db import make_sessionmaker
from engine.deploy import collect_files
from engine.names import load_directory
from engine.runtime import Engine
from engine.users import ensure_demo_users
from engine.workdays import CHINA, WorkCalendar
from tests.conftest import ROOT, make_test_db
from tooling import demo_history

pytestmark = pytest.mark.slow
END = _dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    db_engine, cleanup = make_test_db("postgresql", tmp_path_factory.mktemp("article"))
    Session = make_sessionmaker(db_engine)
    clock = FakeClock(_dt.datetime(2019, 9, 1, 9, 0, tzinfo=CHINA))
    engine = Engine(clock=clock, calendar=WorkCalendar.from_file(ROOT / "processes" / "calendar.json"))
    with Session.begin() as s:
        engine.deploy(s, collect_files(ROOT / "processes", ROOT / "forms"), "tester")
    made = demo_history.generate(Session, engine, clock, end=END)
    yield Session, engine, made
    cleanup()


def test_the_dashboard_shows_the_articles_figures(article):
    Session, engine, _ = article
    with Session() as s:
        board = stats.dashboard(s, stats.Period(), None, now=engine.clock.now())
    assert {code: b["issued"] for code, b in board.bulletins.items()} == {
        "ztc": 78,
        "key_project": 15,
        "six_batches": 9,
    }
    assert board.records == {"weekly_report": 33, "park_file": 48, "research_visit": 27}
    assert (board.totals["enterprises"], board.totals["coordinations"], board.totals["solved"]) == (236, 395, 257)
    # and a plausible rest
    assert board.totals["received"] == 300 and board.totals["open"] == 10
    assert sum(board.leader_modes.values()) == board.totals["escalated"] > 0
    assert set(board.by_county) == {
        "city",
        "shuangta",
        "longcheng",
        "beipiao",
        "lingyuan",
        "chaoyangxian",
        "jianping",
        "kazuo",
    }
    assert 0.9 < board.rates["on_time"] < 1 and 0.9 < board.rates["satisfaction"] < 1


def test_only_the_last_weeks_messages_wait_for_a_worker(article):
    """A worker started on the demo database sends the recent messages, not the whole history's."""
    from sqlalchemy import func, select

    from engine.models import Notification

    Session, _, _ = article
    with Session() as s:
        by_status = dict(s.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
        oldest_pending = s.scalar(select(func.min(Notification.created_at)).where(Notification.status == "pending"))
    assert by_status["sent"] > 1000  # the history's
    assert by_status.get("pending", 0) < by_status["sent"] / 10
    week_before = _dt.datetime.combine(END - demo_history.HISTORY_SENT, _dt.time(0), CHINA)
    assert oldest_pending is None or oldest_pending >= week_before


def test_the_page_shows_them_too(article, tmp_path):
    Session, engine, _ = article
    from engine.config import Settings
    from tests.web.conftest import Browser
    from webapp import create_app

    settings = Settings(upload_dir=tmp_path / "uploads", processes_dir=ROOT / "processes", forms_dir=ROOT / "forms")
    directory = load_directory(settings.processes_dir / "directory.json")
    with Session.begin() as s:
        ensure_demo_users(s, directory)
    app = create_app(
        {
            "TESTING": True,
            "SESSIONMAKER": Session,
            "ENGINE": engine,
            "SECRET_KEY": "t",
            "SETTINGS": settings,
            "VAR_DIR": str(tmp_path / "var"),
            "DIRECTORY": directory,
            "UPLOAD_DIR": str(settings.upload_dir),
        }
    )
    data = Browser(app.test_client()).login("leader.mayor").get("/stats/data.json").get_json()
    assert data["totals"]["solved"] == 257 and data["totals"]["enterprises"] == 236
    assert data["totals"]["coordinations"] == 395 and data["bulletins"]["ztc"]["issued"] == 78
    assert data["records"]["research_visit"] == 27
    # a period: the figures of 2020 are a part of the whole
    part = Browser(app.test_client()).login("wg.city").get("/stats/data.json?from=2020-01-01&to=2020-12-31").get_json()
    assert 0 < part["totals"]["solved"] < 257 and 0 < part["bulletins"]["ztc"]["issued"] < 78


def test_the_articles_special_meeting_case(article):
    Session, engine, _ = article
    from sqlalchemy import select

    from engine.models import CaseRecord

    with Session() as s:
        solved = list(
            s.scalars(
                select(CaseRecord)
                .where(CaseRecord.outcome == "solved")
                .order_by(CaseRecord.closed_at, CaseRecord.instance_id)
            )
        )
    assert len(solved) == 257
    special = [r for r in solved if r.enterprise_name == "辽宁柏慧燕都食品有限公司"]
    assert len(special) == 1 and special[0].leader_mode == "专题会议" and special[0].lead_unit == "fgw"
