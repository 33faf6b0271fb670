"""The per-step projection of a case: ``project`` brings case_record and case_unit up to date
with the instance in the save transaction (``on_step_saved``) and marks the record due
(``rollup_due``): the worker folds the change of its contributions into the rollups
(engine/stats/fold.py), so a step writes no rollup row (issue 18).
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from .. import search as search_mod
from ..models import CaseRecord, CaseUnit, Instance
from ..workdays import CHINA, WorkCalendar, to_china_date
from .rollups import UTC, table_of

if TYPE_CHECKING:
    from ..step import StepSaved

PRE_ACCEPT = frozenset({"待受理", "待补充材料", "不予受理", "已撤回"})
HANDLED_OUTCOMES = ("solved", "explained", "no_answer")


def parse_dt(value: Any) -> _dt.datetime | None:
    if not value:
        return None
    if isinstance(value, _dt.datetime):
        parsed = value
    else:
        try:
            parsed = _dt.datetime.fromisoformat(str(value))
        except ValueError:
            try:
                parsed = _dt.datetime.combine(_dt.date.fromisoformat(str(value)), _dt.time(17, 30))
            except ValueError:
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed.astimezone(UTC)


def _units(summary: dict) -> tuple[str | None, list[str]]:
    lead = summary.get("lead_unit") or None
    coop = summary.get("coop_units") or []
    if isinstance(coop, str):
        coop = [coop]
    coop = [str(u) for u in dict.fromkeys(coop) if u and u != lead]
    return (str(lead) if lead else None), coop


def on_step_saved(event: StepSaved) -> None:
    """Step listener (engine/domain.py): the case's statistics follow its step."""
    project(event.session, event.instance, event.calendar, event.now, event.actor, event.workflow)


def project(
    session: Session,
    instance: Instance,
    calendar: WorkCalendar | None = None,
    now: _dt.datetime | None = None,
    actor: str | None = None,
    workflow: Any = None,
) -> CaseRecord | None:
    """Bring ``case_record``/``case_unit`` (and a bulletin's row) up to date with the instance.

    Called after every saved step (``on_step_saved``), before its flush. Only instances
    whose summary carries a ``case_no`` are cases.
    """
    summary = instance.summary or {}
    if not summary.get("case_no") or instance.id is None:
        return None
    now = now or instance.updated_at or _dt.datetime.now(UTC)
    record = session.get(CaseRecord, instance.id)  # (in the session when loaded with the task: access.visible_task)
    if record is None:
        record = CaseRecord(instance_id=instance.id, ever_overdue=False, coop_units=[])
        session.add(record)
    status = summary.get("status")
    outcome = summary.get("outcome")
    is_open = instance.status in ("running", "error", "suspended")
    lead, coop = _units(summary)

    record.case_no = str(summary.get("case_no"))
    record.process_id = instance.process_id
    record.county = summary.get("county")
    record.level = summary.get("level")
    record.category = summary.get("category")
    record.urgency = summary.get("urgency")
    record.source = summary.get("source")
    record.mode = summary.get("mode")
    record.uscc = summary.get("uscc")
    record.enterprise_name = (summary.get("enterprise_name") or "")[:200] or None
    record.status = status
    record.is_open = is_open
    record.outcome = outcome
    record.received_at = parse_dt(summary.get("registered_at")) or instance.created_at or now
    if record.accepted_at is None and status and status not in PRE_ACCEPT:
        record.accepted_at = parse_dt(summary.get("accepted_at")) or now
    record.closed_at = None if is_open else (instance.ended_at or record.closed_at or now)
    deadline = parse_dt(summary.get("deadline"))
    if (
        deadline is not None
        and calendar is not None
        and (deadline != record.deadline or "deadline_provisional" not in summary)
    ):
        # a deadline set in this step: computed over a year without an official calendar? (临时时限)
        provisional = calendar.provisional(now, deadline)
        if summary.get("deadline_provisional") is not provisional:
            summary = instance.summary = {**summary, "deadline_provisional": provisional}
    record.deadline = deadline
    record.warning = summary.get("warning")
    record.ever_overdue = bool(record.ever_overdue or summary.get("overdue") or summary.get("warning") == "red")
    record.reopen_count = int(summary.get("reopen_count") or 0)
    record.escalated = bool(summary.get("escalated"))
    record.leader_mode = summary.get("leader_mode")
    record.satisfaction = summary.get("satisfaction")
    handled = not is_open and lead is not None and outcome in HANDLED_OUTCOMES
    record.on_time = (not record.ever_overdue) if handled else None
    if not is_open and calendar is not None:
        assert record.closed_at is not None  # set above for a case no longer open
        record.workdays_to_close = calendar.workdays_between(
            to_china_date(record.received_at), to_china_date(record.closed_at)
        )
    else:
        record.workdays_to_close = None
    record.updated_at = now
    record.search_text = search_mod.merged_text(record.search_text, summary, workflow)

    if lead != record.lead_unit or coop != list(record.coop_units or []):
        _assign_units(session, instance.id, record.county, lead, coop, now)
    record.lead_unit = lead
    record.coop_units = coop
    # the worker folds it (engine/stats/fold.py); written even when already due, so a fold that
    # ran meanwhile (it held the row) never leaves this step's change unfolded
    record.rollup_due = True
    if inspect(record).persistent:
        flag_modified(record, "rollup_due")
    return record


def _assign_units(
    session: Session, instance_id: int, county: str | None, lead: str | None, coop: list[str], now: _dt.datetime
) -> None:
    """A ``case_unit`` row for every unit assigned, one statement: a unit assigned before keeps
    its row (rows are never removed: a unit assigned once was coordinated once, even if the case
    is later re-dispatched elsewhere), a cooperating unit made lead becomes lead. New rows are
    not yet ``counted`` in ``stats_unit``: the worker's fold counts them."""
    roles = dict([*[(u, "coop") for u in coop], *([(lead, "lead")] if lead else [])])
    rows = [
        {"instance_id": instance_id, "unit": unit, "role": role, "county": county, "assigned_at": now, "counted": False}
        for unit, role in sorted(roles.items())
        if unit
    ]
    if rows:
        session.execute(_unit_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _unit_upsert(dialect: str) -> Executable:
    """INSERT INTO case_unit … ON CONFLICT DO UPDATE SET role = 'lead' only for a unit made lead."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = table_of(CaseUnit)
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=["instance_id", "unit"],
        set_={"role": stmt.excluded.role},
        where=(stmt.excluded.role == "lead") & (table.c.role != "lead"),
    )
