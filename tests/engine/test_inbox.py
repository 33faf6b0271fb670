"""The inbox query on both databases: who sees which ready task, the four tab counts, the
page order (earliest deadline first, no deadline last), filters and the page size."""

from __future__ import annotations

import datetime as _dt

import pytest
from sqlalchemy import func, select

from engine.access import Principal, task_filter
from engine.inbox import InboxFilter, inbox
from engine.models import HumanTask, HumanTaskGroup, Instance

from .util import loop_files

ME = Principal("me", groups=frozenset({"unit:a", "head:a"}))
NOW = _dt.datetime(2026, 3, 2, 1, 0, tzinfo=_dt.UTC)


def _day(n: int) -> _dt.datetime:
    return NOW + _dt.timedelta(days=n)


@pytest.fixture
def tasks(deploy, engine, Session):
    """Ready and finished tasks around the person "me" (groups unit:a and head:a)."""
    deploy(loop_files())
    with Session.begin() as session:
        instance = engine.start(session, "loop", {"county": "jianping"}, actor="alice")
        instance.summary = {"county": "jianping", "category": "用地"}
        session.flush()
        ids = {}

        def add(name, groups, *, due=None, assignee=None, delegated_from=None, state="ready", created=0):
            row = HumanTask(
                instance_id=instance.id,
                task_guid=f"guid-{name}",
                bpmn_id=name,
                name=name,
                process_id="loop",
                candidate_groups=groups,
                state=state,
                due_at=due,
                assignee=assignee,
                delegated_from=delegated_from,
                created_at=_day(created),
            )
            if state == "ready":
                row.groups = [HumanTaskGroup(group=g) for g in groups]
            session.add(row)
            session.flush()
            ids[name] = row.id

        add("offered", ["unit:a"], due=_day(3), created=1)
        add("no deadline", ["unit:a"], created=2)
        add("claimed by me", ["unit:a"], due=_day(1), assignee="me", created=3)
        add("delegated by me", ["unit:b"], due=_day(2), assignee="colleague", delegated_from="me", created=4)
        add("claimed by a colleague", ["unit:a"], due=_day(0), assignee="colleague", created=5)
        add("offered to both my groups", ["unit:a", "head:a"], due=_day(4), created=6)
        add("another unit's", ["unit:c"], due=_day(1), created=7)
        for n in range(3):  # my history: finished tasks are nobody's inbox
            add(f"done {n}", ["unit:a"], due=_day(-5), assignee="me", state="completed")
        add("cancelled", ["unit:a"], due=_day(-1), state="cancelled")
    return ids


def _names(page) -> list[str]:
    return [row.task.name for row in page.rows]


def test_tabs_count_each_visible_task_once(Session, tasks):
    with Session() as session:
        page = inbox(session, ME, now=NOW)
    assert page.counts == {"all": 5, "mine": 1, "group": 3, "delegated": 1}
    assert len(page.rows) == 5


def test_page_is_in_deadline_order_with_undated_tasks_last(Session, tasks):
    with Session() as session:
        assert _names(inbox(session, ME, now=NOW)) == [
            "claimed by me",
            "delegated by me",
            "offered",
            "offered to both my groups",
            "no deadline",
        ]
        assert _names(inbox(session, ME, InboxFilter(limit=2), now=NOW)) == ["claimed by me", "delegated by me"]
        assert _names(inbox(session, ME, InboxFilter(sort="created"), now=NOW)) == [
            "offered to both my groups",
            "delegated by me",
            "claimed by me",
            "no deadline",
            "offered",
        ]


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("mine", ["claimed by me"]),
        ("group", ["offered", "offered to both my groups", "no deadline"]),
        ("delegated", ["delegated by me"]),
    ],
)
def test_each_tab_lists_its_tasks(Session, tasks, tab, expected):
    with Session() as session:
        page = inbox(session, ME, InboxFilter(tab=tab), now=NOW)
    assert _names(page) == expected
    assert page.counts[tab] == len(expected)


def test_filters_narrow_the_page_and_the_counts(Session, tasks):
    with Session() as session:
        due_soon = inbox(session, ME, InboxFilter(due_within_days=2), now=NOW)
        assert _names(due_soon) == ["claimed by me", "delegated by me"]
        assert due_soon.counts == {"all": 2, "mine": 1, "group": 0, "delegated": 1}
        overdue = inbox(session, ME, InboxFilter(overdue=True), now=_day(2) + _dt.timedelta(hours=1))
        assert _names(overdue) == ["claimed by me", "delegated by me"]
        in_county = inbox(session, ME, InboxFilter(county="jianping", category="用地", limit=1), now=NOW)
        assert _names(in_county) == ["claimed by me"]
        assert in_county.counts["all"] == 5
        assert inbox(session, ME, InboxFilter(county="elsewhere"), now=NOW).counts["all"] == 0


def test_task_filter_also_shows_tasks_a_colleague_claimed_in_my_group(Session, tasks):
    with Session() as session:
        visible = set(session.scalars(select(HumanTask.name).where(task_filter(ME))))
        assert visible == {
            "offered",
            "no deadline",
            "claimed by me",
            "delegated by me",
            "claimed by a colleague",
            "offered to both my groups",
        }
        stranger = Principal("stranger", groups=frozenset({"unit:z"}))
        assert session.scalar(select(func.count()).select_from(HumanTask).where(task_filter(stranger))) == 0
        assert session.get(Instance, session.get(HumanTask, tasks["offered"]).instance_id) is not None
