"""The inbox: ready tasks a person may work on, with filters, deadline markers and the
hand-over operations (claim, unclaim, assign to a colleague, delegate, take back).

No web here; the caller owns the transaction (functions flush at most).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, or_, select, update
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from . import clock as clock_mod
from . import search as search_mod
from .access import Principal, can_see_task, in_task_groups, task_filter
from .db import rowcount
from .errors import Conflict, InvalidRequest, NotAllowed, NotFound
from .models import AuditEntry, CaseRecord, HumanTask, HumanTaskGroup, Instance, User
from .workdays import CHINA, WorkCalendar, to_china_date

TABS = ("all", "mine", "group", "delegated")


@dataclass
class InboxFilter:
    tab: str = "all"
    category: str | None = None
    county: str | None = None
    mode: str | None = None
    overdue: bool = False
    due_within_days: int | None = None  # working days (engine/workdays.py), today counting as 0
    due_today: bool = False  # 今日到期: the deadline falls on today's date in China
    q: str | None = None  # words of the case's search text (engine/search.py) or the task's name
    sort: str = "due"  # due | created
    limit: int = 200


@dataclass
class InboxRow:
    task: HumanTask
    instance: Instance
    marker: str | None  # None | "yellow" | "red"
    days_left: int | None = None  # working days to the deadline; negative: working days overdue

    @property
    def summary(self) -> dict:
        return self.instance.summary or {}


@dataclass
class InboxPage:
    rows: list[InboxRow]
    counts: dict[str, int] = field(default_factory=dict)
    filters: InboxFilter = field(default_factory=InboxFilter)


def _tab_clause(principal: Principal, tab: str) -> ColumnElement[bool]:
    groups = sorted(principal.groups)
    in_groups = HumanTask.id.in_(select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(groups)))
    if tab == "mine":
        return HumanTask.assignee == principal.username
    if tab == "group":
        return HumanTask.assignee.is_(None) & in_groups
    if tab == "delegated":
        return HumanTask.delegated_from == principal.username
    return or_(
        HumanTask.assignee == principal.username,
        HumanTask.assignee.is_(None) & in_groups,
        HumanTask.delegated_from == principal.username,
    )


def deadline_marker(
    due: _dt.datetime | None, now: _dt.datetime, calendar: WorkCalendar, warning: str | None = None
) -> str | None:
    """Red when past the deadline, yellow from one working day before it (黄牌预警)."""
    if warning in ("red", "yellow") and due is None:
        return warning
    if due is None:
        return None
    if due < now:
        return "red"
    if calendar.workdays_between(to_china_date(now), to_china_date(due)) <= 1:
        return "yellow"
    return warning if warning in ("red", "yellow") else None


def days_left(due: _dt.datetime | None, now: _dt.datetime, calendar: WorkCalendar) -> int | None:
    """Working days from today to the deadline's date (0: due today); negative once past it."""
    if due is None:
        return None
    today, day = to_china_date(now), to_china_date(due)
    if due < now:
        return -max(1, calendar.workdays_between(day, today))
    return calendar.workdays_between(today, day)


def _day_end(day: _dt.date) -> _dt.datetime:
    return _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(0), tzinfo=CHINA).astimezone(_dt.UTC)


def queries(
    principal: Principal, filters: InboxFilter, now: _dt.datetime, calendar: WorkCalendar | None = None
) -> tuple[Select[*tuple[Any, ...]], Select[HumanTask]]:
    """(tab counts, page) statements.

    The counts start from the person's own task ids (``access.task_filter``: a union of
    small indexed sets). The page first picks the ids of its rows — ready tasks in the
    tab, walked in the order of ``ix_human_task_ready`` (due date, id), which covers the
    tab's columns, until the page is full — then loads those rows with their cases.
    The case is joined before that only when a filter reads its summary."""
    tab = _tab_clause(principal, filters.tab if filters.tab in TABS else "all")  # within task_filter
    on_task = []
    if filters.overdue:
        on_task += [HumanTask.due_at.is_not(None), HumanTask.due_at < now]
    today = to_china_date(now)
    if filters.due_within_days is not None:  # by the end of the N-th working day from today
        n = max(0, filters.due_within_days)
        last = (calendar or WorkCalendar()).add_workdays(today, n) if n else today
        on_task += [HumanTask.due_at.is_not(None), HumanTask.due_at < _day_end(last)]
    if filters.due_today:
        on_task += [
            HumanTask.due_at.is_not(None),
            HumanTask.due_at >= _day_end(today - _dt.timedelta(days=1)),
            HumanTask.due_at < _day_end(today),
        ]
    found = search_mod.matches(CaseRecord.search_text, filters.q)
    in_name = search_mod.matches(HumanTask.name, filters.q)
    if found is not None and in_name is not None:  # (both None for a query without words)
        on_task.append(or_(HumanTask.instance_id.in_(select(CaseRecord.instance_id).where(found)), in_name))
    summary = Instance.summary
    on_case = [
        summary[key].as_string() == value
        for key, value in (("category", filters.category), ("county", filters.county), ("mode", filters.mode))
        if value
    ]
    counts = (
        select(*[func.count().filter(_tab_clause(principal, t)).label(t) for t in TABS])
        .select_from(HumanTask)
        .where(task_filter(principal), *on_task)
    )
    ids = select(HumanTask.id).where(HumanTask.state == "ready", tab, *on_task)
    if on_case:
        counts = counts.join(HumanTask.instance).where(*on_case)
        ids = ids.join(HumanTask.instance).where(*on_case)
    order: tuple[SQLColumnExpression[Any], ...]
    if filters.sort == "created":
        order = (HumanTask.created_at.desc(), HumanTask.id.desc())
    else:  # the order of ix_human_task_ready
        order = (HumanTask.due_at.asc().nulls_last(), HumanTask.id)
    page = (
        select(HumanTask)
        .join(HumanTask.instance)
        .where(HumanTask.id.in_(ids.order_by(*order).limit(filters.limit)))
        .order_by(*order)
        # the rows show the case's summary; its workflow state (tens of KB each) is not read
        .options(contains_eager(HumanTask.instance).defer(Instance.state))
    )
    return counts, page


def inbox(
    session: Session,
    principal: Principal,
    filters: InboxFilter | None = None,
    *,
    calendar: WorkCalendar | None = None,
    now: _dt.datetime | None = None,
) -> InboxPage:
    filters = filters or InboxFilter()
    calendar = calendar or WorkCalendar()
    now = now or clock_mod.now()
    count_query, page_query = queries(principal, filters, now, calendar)
    counts = dict(session.execute(count_query).one()._mapping)
    rows = []
    for task in session.scalars(page_query):
        marker = deadline_marker(task.due_at, now, calendar, (task.instance.summary or {}).get("warning"))
        rows.append(InboxRow(task, task.instance, marker, days_left(task.due_at, now, calendar)))
    return InboxPage(rows, counts, filters)


# -- hand-over operations ------------------------------------------------------------------
def _audit(session: Session, actor: str, action: str, task: HumanTask, data: dict | None = None) -> None:
    session.add(
        AuditEntry(
            at=clock_mod.now(),
            actor=actor,
            action=action,
            instance_id=task.instance_id,
            task_bpmn_id=task.bpmn_id,
            task_name=task.name,
            data=data,
        )
    )


def _ready(session: Session, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if task.state != "ready":
        raise Conflict(f"task {task_id} is already {task.state}", state=task.state)
    return task


def _colleague(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or user.kind == "enterprise":
        raise InvalidRequest(f"'{username}' is not an active official", field="to")
    return user


def claim(session: Session, principal: Principal, task_id: int) -> HumanTask:
    """Take a free task. One conditional UPDATE (… WHERE state = 'ready' AND assignee IS NULL):
    of two claims at the same moment exactly one wins, the other is a Conflict, on every
    database (what was read before the UPDATE may already be stale)."""
    task = _ready(session, task_id)
    if not in_task_groups(principal, task):
        raise NotAllowed("only members of the task's groups may claim it")
    if task.assignee == principal.username:
        return task
    if task.assignee is None:
        taken = rowcount(
            session.execute(
                update(HumanTask)
                .where(HumanTask.id == task_id, HumanTask.state == "ready", HumanTask.assignee.is_(None))
                .values(assignee=principal.username)
                .execution_options(synchronize_session=False)
            )
        )
        if taken == 1:
            set_committed_value(task, "assignee", principal.username)
            _audit(session, principal.username, "claim", task)
            session.flush()
            return task
        session.refresh(task)  # someone else was quicker: say who
        if task.state != "ready":
            raise Conflict(f"task {task_id} is already {task.state}", state=task.state)
    raise Conflict(f"task {task_id} is already claimed by {task.assignee}", assignee=task.assignee)


def unclaim(session: Session, principal: Principal, task_id: int) -> HumanTask:
    task = _ready(session, task_id)
    if task.assignee != principal.username or task.delegated_from:
        raise NotAllowed("only the person who claimed a task may give it back")
    task.assignee = None
    _audit(session, principal.username, "unclaim", task)
    session.flush()
    return task


def assign(session: Session, principal: Principal, task_id: int, to: str) -> HumanTask:
    """Give a task of my groups to a colleague who is in one of its groups."""
    task = _ready(session, task_id)
    if not in_task_groups(principal, task) or task.assignee not in (None, principal.username):
        raise NotAllowed("only a member of the task's groups may assign it while it is free or theirs")
    colleague = _colleague(session, to)
    if not set(colleague.groups or []) & set(task.candidate_groups or []):
        raise InvalidRequest(f"'{to}' is not in the task's groups", field="to")
    task.assignee = colleague.username
    task.delegated_from = None
    _audit(session, principal.username, "assign", task, {"to": colleague.username})
    session.flush()
    return task


def delegate(session: Session, principal: Principal, task_id: int, to: str) -> HumanTask:
    """Hand my task to a colleague (sharing a group with me); I may take it back."""
    task = _ready(session, task_id)
    if task.assignee != principal.username:
        raise NotAllowed("claim the task before delegating it")
    if to == principal.username:
        raise InvalidRequest("a task cannot be delegated to oneself", field="to")
    colleague = _colleague(session, to)
    if not set(colleague.groups or []) & set(principal.groups):
        raise InvalidRequest(f"'{to}' shares no group with you", field="to")
    task.delegated_from = task.delegated_from or principal.username
    task.assignee = colleague.username
    _audit(session, principal.username, "delegate", task, {"to": colleague.username})
    session.flush()
    return task


def take_back(session: Session, principal: Principal, task_id: int) -> HumanTask:
    task = _ready(session, task_id)
    if task.delegated_from != principal.username:
        raise NotAllowed("only the person who delegated a task may take it back")
    task.assignee = principal.username
    task.delegated_from = None
    _audit(session, principal.username, "take_back", task)
    session.flush()
    return task


def transfer(session: Session, principal: Principal, task_id: int, to: str) -> HumanTask:
    """转办: a head of the task's unit (``head:<u>`` with ``unit:<u>`` a candidate group) or the
    task's holder hands it, claimed or not, to another member of its groups."""
    task = _ready(session, task_id)
    heads = {f"unit:{g.split(':', 1)[1]}" for g in principal.groups if g.startswith("head:")}
    if not (heads & set(task.candidate_groups or []) or task.assignee == principal.username):
        raise NotAllowed("only a head of the task's unit or its holder may transfer it")
    colleague = _colleague(session, to)
    if not set(colleague.groups or []) & set(task.candidate_groups or []):
        raise InvalidRequest(f"'{to}' is not in the task's groups", field="to")
    before = task.assignee
    task.assignee = colleague.username
    task.delegated_from = None
    _audit(session, principal.username, "transfer", task, {"from": before, "to": colleague.username})
    session.flush()
    return task


BULK: dict[str, Callable[..., HumanTask]] = {"claim": claim, "assign": assign, "transfer": transfer}
MAX_BULK = 200


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # task id → why (the operation's message)


def bulk(session: Session, principal: Principal, action: str, task_ids: list[int], to: str | None = None) -> BulkResult:
    """One hand-over on many tasks (multi-select in the inbox), each checked and audited on its
    own; a task that may not be handed over is reported and the others go ahead."""
    if action not in BULK:
        raise InvalidRequest(f"unknown bulk action {action!r}", field="action")
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        raise InvalidRequest("select at least one task", field="task_ids")
    if len(ids) > MAX_BULK:
        raise InvalidRequest(f"at most {MAX_BULK} tasks at once", field="task_ids")
    if action != "claim" and not to:
        raise InvalidRequest("choose the colleague to hand the tasks to", field="to")
    result = BulkResult()
    for task_id in ids:
        try:
            BULK[action](session, principal, task_id, *([] if action == "claim" else [to]))
            result.done.append(task_id)
        except (Conflict, NotAllowed, NotFound) as exc:
            result.failed[task_id] = str(exc)
        except InvalidRequest as exc:
            if exc.details.get("field") == "to":  # the colleague is wrong for every task
                raise
            result.failed[task_id] = str(exc)
    return result


def colleagues(session: Session, principal: Principal, task: HumanTask) -> list[User]:
    """Officials who share one of the task's groups (assign) or one of mine (delegate)."""
    wanted = set(task.candidate_groups or []) | {
        g for g in principal.groups if ":" in g and not g.startswith("enterprise:")
    }
    users = session.scalars(
        select(User)
        .where(User.active.is_(True), User.kind != "enterprise", User.username != principal.username)
        .order_by(User.username)
    )
    return [u for u in users if set(u.groups or []) & wanted]


__all__ = [
    "TABS",
    "InboxFilter",
    "InboxRow",
    "InboxPage",
    "inbox",
    "deadline_marker",
    "days_left",
    "claim",
    "unclaim",
    "assign",
    "delegate",
    "take_back",
    "transfer",
    "bulk",
    "BulkResult",
    "colleagues",
    "can_see_task",
]
