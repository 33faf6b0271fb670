"""议定事项 as items: every decision item of a 专题会议 or 现场办公, with its unit, deadline,
status, report and overdue mark — per case and across the cases a person may see.

Read from what the engine already keeps, no table of its own:

* a *meeting* is a completed step whose answers hold a ``decision_items`` list (专题会议纪要,
  现场办公记录: ``{content, unit, deadline}`` each) — its ``complete`` audit entry;
* the *leader* of a meeting is whoever gave the last 领导批示 before it (the completed step
  whose answers hold ``leader_mode``);
* each item is carried out as a task with the form ``decision-item-report.schema.json``
  (processes/decision_items.bpmn, one multi-instance child per item, created in the items'
  order at the meeting's completion): its row gives the status (ready: 落实中, completed:
  已落实, cancelled: 已终止) and due time; its ``complete`` audit entry the report.

An item is *overdue* when its task is still open after its due time, or was completed after it
(逾期落实). Who sees which items is engine/access.py's rule for cases (``case_filter``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access
from .models import AuditEntry, HumanTask, Instance

ITEM_FORM = "decision-item-report.schema.json"
ITEMS_KEY = "decision_items"
LEADER_KEY = "leader_mode"
REPORT_KEY = "item_report"
STATUSES = ("open", "done", "cancelled")
STATUS_FILTERS = ("open", "done", "overdue")
_STATE_STATUS = {"ready": "open", "completed": "done", "cancelled": "cancelled"}


@dataclass
class DecisionItem:
    instance_id: int
    case_no: str | None
    title: str | None
    county: str | None
    meeting: str  # the step that decided it: 专题会议纪要 / 现场办公记录
    meeting_at: _dt.datetime  # when its minutes were recorded
    leader: str | None  # user name of the leader whose 批示 called the meeting
    index: int  # 1-based position in its meeting's list
    content: str
    unit: str
    deadline: str | None  # YYYY-MM-DD as decided
    task_id: int | None = None
    due_at: _dt.datetime | None = None
    status: str = "open"  # open | done | cancelled
    assignee: str | None = None
    completed_at: _dt.datetime | None = None
    completed_by: str | None = None
    report: str | None = None
    overdue: bool = False
    meeting_date: str | None = None  # the day of the meeting / visit as recorded (会议日期, 现场办公日期)

    @property
    def late_done(self) -> bool:
        return self.overdue and self.status == "done"


@dataclass
class ItemQuery:
    unit: str | None = None
    leader: str | None = None
    status: str | None = None  # open | done | overdue
    county: str | None = None


@dataclass
class Board:
    items: list[DecisionItem]
    units: list[str] = field(default_factory=list)  # the units and leaders of the items before filtering
    leaders: list[str] = field(default_factory=list)


def _is_overdue(due: _dt.datetime | None, finished: _dt.datetime | None, status: str, now: _dt.datetime) -> bool:
    if due is None or status == "cancelled":
        return False
    return (finished if status == "done" and finished is not None else now) > due


def _group_unit(row: HumanTask) -> str | None:
    for group in row.candidate_groups or []:
        if isinstance(group, str) and group.startswith("unit:"):
            return group.split(":", 1)[1]
    return None


def _report_of(row: HumanTask, entries: list[AuditEntry], used: set[int]) -> str | None:
    """The report of a completed item task: its completion's audit entry (same step, same
    person, the nearest moment)."""
    if row.completed_at is None:
        return None
    best: AuditEntry | None = None
    gap: float | None = None
    report: Any = None
    for entry in entries:
        if entry.id in used or entry.task_bpmn_id != row.bpmn_id or entry.actor != row.completed_by:
            continue
        data = entry.data if isinstance(entry.data, dict) else {}
        if REPORT_KEY not in data:
            continue
        delta = abs((_aware(entry.at) - _aware(row.completed_at)).total_seconds())
        if delta < 60 and (gap is None or delta < gap):
            best, gap, report = entry, delta, data.get(REPORT_KEY)
    if best is None:
        return None
    used.add(best.id)
    return str(report or "")


def _aware(value: _dt.datetime) -> _dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)


def _of_instance(
    instance: Instance, entries: list[AuditEntry], rows: list[HumanTask], now: _dt.datetime
) -> list[DecisionItem]:
    summary = instance.summary or {}
    out: list[DecisionItem] = []
    leader: str | None = None
    free = list(rows)  # item task rows in creation order, not yet given to an item
    used: set[int] = set()
    for entry in entries:
        data = entry.data if isinstance(entry.data, dict) else {}
        if LEADER_KEY in data:
            leader = entry.actor
        items = data.get(ITEMS_KEY)
        if not isinstance(items, list) or not items:
            continue
        # this meeting's tasks: the next len(items) rows, matched by unit (order first)
        group, free = free[: len(items)], free[len(items) :]
        for index, item in enumerate(items, 1):
            if not isinstance(item, dict):
                continue
            unit = str(item.get("unit") or "")
            row = next((r for r in group if _group_unit(r) == unit), None)
            if row is not None:
                group.remove(row)
            status = _STATE_STATUS.get(row.state, "open") if row is not None else "open"
            held = data.get("meeting_date") or data.get("visit_date")
            di = DecisionItem(
                instance_id=instance.id,
                case_no=summary.get("case_no") or instance.business_key,
                title=summary.get("title"),
                county=summary.get("county"),
                meeting=entry.task_name or "",
                meeting_at=_aware(entry.at),
                leader=leader,
                index=index,
                content=str(item.get("content") or ""),
                unit=unit,
                deadline=str(item["deadline"]) if item.get("deadline") else None,
                status=status,
                meeting_date=str(held) if held else None,
            )
            if row is not None:
                di.task_id, di.assignee = row.id, row.assignee
                di.due_at = _aware(row.due_at) if row.due_at else None
                di.completed_at = _aware(row.completed_at) if row.completed_at else None
                di.completed_by = row.completed_by if status == "done" else None
                if status == "done":
                    di.report = _report_of(row, entries, used)
            di.overdue = _is_overdue(di.due_at, di.completed_at, status, now)
            out.append(di)
    return out


def _load(session: Session, instances: list[Instance], now: _dt.datetime) -> list[DecisionItem]:
    if not instances:
        return []
    ids = [i.id for i in instances]
    entries: dict[int, list[AuditEntry]] = {i: [] for i in ids}
    rows: dict[int, list[HumanTask]] = {i: [] for i in ids}
    for chunk in _chunks(ids, 500):
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.instance_id.in_(chunk), AuditEntry.action == "complete")
            .order_by(AuditEntry.id)
        ):
            assert entry.instance_id is not None  # selected by instance_id
            entries[entry.instance_id].append(entry)
        for row in session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id.in_(chunk), HumanTask.form == ITEM_FORM)
            .order_by(HumanTask.id)
        ):
            rows[row.instance_id].append(row)
    out: list[DecisionItem] = []
    for instance in instances:
        out.extend(_of_instance(instance, entries[instance.id], rows[instance.id], now))
    return out


def _chunks(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def of_case(session: Session, instance: Instance, now: _dt.datetime) -> list[DecisionItem]:
    """The decision items of one case, meeting by meeting, in the order decided (the caller
    has checked that the person may see the case)."""
    return _load(session, [instance], now)


def matches(item: DecisionItem, query: ItemQuery) -> bool:
    if query.unit and item.unit != query.unit:
        return False
    if query.leader and item.leader != query.leader:
        return False
    if query.county and item.county != query.county:
        return False
    if query.status == "overdue":
        return item.overdue and item.status == "open"
    if query.status in ("open", "done"):
        return item.status == query.status
    return True


def board(session: Session, principal: access.Principal, query: ItemQuery, now: _dt.datetime) -> Board:
    """Every decision item of the cases the person may see, filtered; open overdue items first,
    then by due time (earliest first), done and cancelled ones last."""
    with_items = select(HumanTask.instance_id).where(HumanTask.form == ITEM_FORM)
    instances = list(
        session.scalars(access.visible_cases(principal).where(Instance.id.in_(with_items)).order_by(Instance.id))
    )
    every = _load(session, instances, now)
    chosen = [i for i in every if matches(i, query)]
    far = _dt.datetime.max.replace(tzinfo=_dt.UTC)
    chosen.sort(key=lambda i: (i.status != "open", not i.overdue, i.due_at or far, i.instance_id, i.index))
    return Board(
        chosen, units=sorted({i.unit for i in every if i.unit}), leaders=sorted({i.leader for i in every if i.leader})
    )


def as_dict(item: DecisionItem) -> dict[str, Any]:
    return {
        "instance_id": item.instance_id,
        "case_no": item.case_no,
        "title": item.title,
        "county": item.county,
        "meeting": item.meeting,
        "meeting_at": item.meeting_at,
        "meeting_date": item.meeting_date,
        "leader": item.leader,
        "index": item.index,
        "content": item.content,
        "unit": item.unit,
        "deadline": item.deadline,
        "task_id": item.task_id,
        "due_at": item.due_at,
        "status": item.status,
        "assignee": item.assignee,
        "completed_at": item.completed_at,
        "completed_by": item.completed_by,
        "report": item.report,
        "overdue": item.overdue,
    }


__all__ = [
    "DecisionItem",
    "ItemQuery",
    "Board",
    "of_case",
    "board",
    "matches",
    "as_dict",
    "ITEM_FORM",
    "STATUSES",
    "STATUS_FILTERS",
]
