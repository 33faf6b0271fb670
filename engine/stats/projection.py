"""The per-step projection of a case (``project``: case_record, case_unit and the rollups, in
the save transaction), the rollups' upserts and their recomputation (``rebuild_rollups``).
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Date, Executable, Table, and_, case, cast, delete, func, literal, select, text
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from .. import search as search_mod
from ..models import (
    Base,
    CaseRecord,
    CaseUnit,
    Instance,
    StatsClosed,
    StatsEnterprise,
    StatsEnterpriseDay,
    StatsEnterpriseGap,
    StatsReceived,
    StatsReceivedDim,
    StatsUnit,
)
from ..workdays import CHINA, WorkCalendar, to_china_date

if TYPE_CHECKING:
    from ..step import StepSaved

UTC = _dt.UTC
PRE_ACCEPT = frozenset({"待受理", "待补充材料", "不予受理", "已撤回"})
HANDLED_OUTCOMES = ("solved", "explained", "no_answer")
GOOD_SATISFACTION = ("满意", "基本满意")
ANSWERED_SATISFACTION = ("满意", "基本满意", "不满意")
LEADER_MODES = ("签批督办", "专题会议", "现场办公")


# -- the projection ------------------------------------------------------------------------
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
    record = session.get(CaseRecord, instance.id)
    if record is None:
        record = CaseRecord(instance_id=instance.id, ever_overdue=False, coop_units=[])
        session.add(record)
        before, enterprise_before = {}, None
    else:
        before, enterprise_before = _contributions(record), _enterprise_key(record)
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

    assigned: dict[tuple, dict[str, int]] = {}
    if lead != record.lead_unit or coop != list(record.coop_units or []):
        assigned = _assign_units(session, instance.id, record.county, lead, coop, now)
    record.lead_unit = lead
    record.coop_units = coop
    _apply_rollups(session, _delta(before, _contributions(record), assigned))
    _move_enterprise(session, enterprise_before, _enterprise_key(record))
    return record


def _assign_units(
    session: Session, instance_id: int, county: str | None, lead: str | None, coop: list[str], now: _dt.datetime
) -> dict[tuple, dict[str, int]]:
    """Add a ``case_unit`` row for every unit newly assigned (rows are never removed: a unit
    assigned once was coordinated once, even if the case is later re-dispatched elsewhere).
    Returns the rows' contributions to ``stats_unit``."""
    existing = {row.unit: row for row in session.scalars(select(CaseUnit).where(CaseUnit.instance_id == instance_id))}
    added: dict[tuple, dict[str, int]] = {}
    for unit, role in [(lead, "lead"), *[(u, "coop") for u in coop]]:
        if not unit:
            continue
        row = existing.get(unit)
        if row is None:
            row = CaseUnit(instance_id=instance_id, unit=unit, role=role, county=county, assigned_at=now)
            session.add(row)
            existing[unit] = row
            key = ("unit", (_china_day(now), county or NONE, unit))
            added[key] = {"assigned": added.get(key, {}).get("assigned", 0) + 1}
        elif role == "lead" and row.role != "lead":
            row.role = "lead"
    return added


# -- the rollups ---------------------------------------------------------------------------
# ``project`` knows a case's contributions to the rollup tables before and after the step and
# applies the difference (INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n), at two
# grains: the day and its month. A figure for a period reads its whole months at grain 'm' and
# the days at either end at grain 'd'; only "overdue now" reads case_record (it depends on now).
NONE = ""  # a key column's "none" (NULLs never conflict in a primary key)
ALL_COUNTIES = "*"  # stats_enterprise*: every county together
FIRST_DAY = _dt.date(1, 1, 1)  # stats_enterprise_gap.prev_day of an enterprise's first day
EnterpriseKey = tuple[str, str, _dt.date]  # (county, uscc, received day): stats_enterprise_day's key
LM_COLUMNS = dict(zip(LEADER_MODES, ("lm_sign", "lm_meeting", "lm_site")))


def table_of(model: type[Base]) -> Table:
    """The model's table (SQLAlchemy types ``__table__`` as any FromClause)."""
    assert isinstance(model.__table__, Table)
    return model.__table__


ROLLUPS: dict[str, tuple[Table, tuple[str, ...]]] = {  # name → (table, key columns after grain)
    "received": (table_of(StatsReceived), ("day", "county", "lead_unit")),
    "received_dim": (table_of(StatsReceivedDim), ("day", "county", "dim", "value")),
    "closed": (table_of(StatsClosed), ("day", "county", "lead_unit")),
    "unit": (table_of(StatsUnit), ("day", "county", "unit")),
}
RECEIVED_COUNTERS = (
    "received",
    "accepted",
    "rejected",
    "withdrawn",
    "still_open",
    "overdue",
    "escalated",
    *LM_COLUMNS.values(),
)
CLOSED_COUNTERS = ("closed", "solved", "handled", "on_time", "reopened", "sat_good", "sat_answered", "wd_sum")
COUNTERS = {
    "received": RECEIVED_COUNTERS,
    "received_dim": ("received",),
    "closed": CLOSED_COUNTERS,
    "unit": ("assigned",),
}


def _china_day(value: _dt.datetime) -> _dt.date:
    if value.tzinfo is None:  # stored as UTC (UtcDateTime)
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA).date()


def _contributions(r: CaseRecord) -> dict[tuple, dict[str, int]]:
    """What one case_record row adds to the counter rollups: {(rollup, key): {counter: n}}."""
    out: dict[tuple, dict[str, int]] = {}
    if r.received_at is None:
        return out
    county = r.county or NONE
    day = _china_day(r.received_at)
    out[("received", (day, county, r.lead_unit or NONE))] = {
        "received": 1,
        "accepted": int(r.accepted_at is not None),
        "rejected": int(r.outcome == "rejected"),
        "withdrawn": int(r.outcome == "withdrawn"),
        "still_open": int(r.is_open is True),
        "overdue": int(r.ever_overdue is True),
        "escalated": int(r.escalated is True),
        **{column: int(r.leader_mode == mode) for mode, column in LM_COLUMNS.items()},
    }
    for dim in ("category", "mode"):
        value = getattr(r, dim)
        if value:
            out[("received_dim", (day, county, dim, value))] = {"received": 1}
    if r.closed_at is not None:
        handled = r.on_time is not None
        out[("closed", (_china_day(r.closed_at), county, r.lead_unit or NONE))] = {
            "closed": 1,
            "solved": int(r.outcome == "solved"),
            "handled": int(handled),
            "on_time": int(r.on_time is True),
            "reopened": int(handled and (r.reopen_count or 0) > 0),
            "sat_good": int(r.satisfaction in GOOD_SATISFACTION),
            "sat_answered": int(r.satisfaction in ANSWERED_SATISFACTION),
            "wd_sum": (r.workdays_to_close or 0) if r.outcome == "solved" else 0,
        }
    return out


def _delta(before: dict, after: dict, *more: dict) -> dict[tuple, dict[str, int]]:
    out: dict[tuple, dict[str, int]] = {}
    for sign, part in [(-1, before), (1, after), *[(1, m) for m in more]]:
        for key, counters in part.items():
            acc = out.setdefault(key, {})
            for name, n in counters.items():
                acc[name] = acc.get(name, 0) + sign * n
    return {key: acc for key, acc in out.items() if any(acc.values())}


@functools.cache
def _upsert_statement(
    dialect: str, table: Table, keys: tuple[str, ...], counters: tuple[str, ...], returning: bool
) -> Executable:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter, built once
    per table and dialect: executed with bound rows, its compiled form is cached."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the engine runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"statistics rollups on {dialect}")
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: table.c[c] + stmt.excluded[c] for c in counters}
    )
    return stmt.returning(*[table.c[c] for c in counters]) if returning else stmt


def _upsert_add(
    session: Session,
    table: Table,
    keys: tuple[str, ...],
    rows: list[dict[str, Any]],
    counters: tuple[str, ...],
    returning: bool = False,
) -> Result[Any]:
    """Add ``rows``' counters to the rows of ``table`` with the same keys (inserting the new
    ones). Rows are sorted by key, so concurrent transactions lock them in the same order."""
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    stmt = _upsert_statement(session.get_bind().dialect.name, table, keys, counters, returning)
    return session.execute(stmt, rows[0] if returning else rows)


def _apply_rollups(session: Session, delta: dict[tuple, dict[str, int]]) -> None:
    if not delta:
        return
    rows: dict[str, dict[tuple, dict[str, int]]] = {}
    for (name, key), counters in delta.items():
        day = key[0]
        for grain, at in (("d", day), ("m", day.replace(day=1))):
            acc = rows.setdefault(name, {}).setdefault((grain, at, *key[1:]), {})
            for counter, n in counters.items():
                acc[counter] = acc.get(counter, 0) + n
    for name in sorted(rows):
        table, keys = ROLLUPS[name]
        columns = COUNTERS[name]
        batch = [
            {**dict(zip(("grain", *keys), key)), **{c: acc.get(c, 0) for c in columns}}
            for key, acc in rows[name].items()
            if any(acc.values())
        ]
        if batch:
            _upsert_add(session, table, ("grain", *keys), batch, columns)


def _enterprise_key(r: CaseRecord) -> EnterpriseKey | None:
    if r.uscc is None or r.received_at is None:
        return None
    return (r.county or NONE, r.uscc, _china_day(r.received_at))


def _move_enterprise(session: Session, before: EnterpriseKey | None, after: EnterpriseKey | None) -> None:
    """Keep stats_enterprise_day / _gap when a case's (county, enterprise, received day) changes
    (for the case's county and for all counties together)."""
    for per_county in (True, False):
        old = before if (before is None or per_county) else (ALL_COUNTIES, *before[1:])
        new = after if (after is None or per_county) else (ALL_COUNTIES, *after[1:])
        if old == new:
            continue
        if old is not None:
            _enterprise_day(session, *old, -1)
        if new is not None:
            _enterprise_day(session, *new, 1)


def _enterprise_day(session: Session, county: str, uscc: str, day: _dt.date, sign: int) -> None:
    e, d = table_of(StatsEnterprise), table_of(StatsEnterpriseDay)
    # the enterprise's row first: a concurrent transaction on the same enterprise waits here
    _upsert_add(session, e, ("county", "uscc"), [{"county": county, "uscc": uscc, "cases": sign}], ("cases",))
    row = {"county": county, "uscc": uscc, "day": day, "cases": sign}
    n = _upsert_add(session, d, ("county", "uscc", "day"), [row], ("cases",), returning=True).scalar_one()
    if (sign > 0 and n != 1) or (sign < 0 and n != 0):
        return  # the enterprise had (still has) another case that day
    same = (d.c.county == county, d.c.uscc == uscc)
    if sign < 0:
        session.execute(delete(d).where(*same, d.c.day == day))
    prev = session.scalar(select(func.max(d.c.day)).where(*same, d.c.day < day)) or FIRST_DAY
    after = session.scalar(select(func.min(d.c.day)).where(*same, d.c.day > day))
    gaps = {(day, prev): sign}
    if after is not None:  # the next day's previous day was prev, becomes day (or back)
        gaps[(after, day)] = sign
        gaps[(after, prev)] = -sign
    _upsert_add(
        session,
        table_of(StatsEnterpriseGap),
        ("county", "day", "prev_day"),
        [{"county": county, "day": a, "prev_day": p, "n": n} for (a, p), n in gaps.items()],
        ("n",),
    )


def _sql_day(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL: the Beijing calendar date of a UTC timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column) + _dt.timedelta(hours=8), Date)
    return func.date(column, "+8 hours")


def _sql_month(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL: the first of the month of a date column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


ROLLUP_TABLES = (
    StatsReceived,
    StatsReceivedDim,
    StatsClosed,
    StatsUnit,
    StatsEnterprise,
    StatsEnterpriseDay,
    StatsEnterpriseGap,
)


def rebuild_rollups(session: Session) -> dict[str, int]:
    """Recompute every rollup table from case_record and case_unit (for a database that had
    cases before the rollups existed, or to check them). Set-based SQL, in the caller's
    transaction; returns the rows per table. Cases changing meanwhile wait (PostgreSQL: the
    tables are locked in SHARE ROW EXCLUSIVE mode until commit)."""
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(m.__tablename__ for m in ROLLUP_TABLES)
        session.execute(text(f"LOCK TABLE case_record, case_unit, {names} IN SHARE ROW EXCLUSIVE MODE"))
    for model in ROLLUP_TABLES:
        session.execute(delete(table_of(model)))
    r = table_of(CaseRecord)
    county = func.coalesce(r.c.county, NONE)
    lead = func.coalesce(r.c.lead_unit, NONE)
    rday = _sql_day(session, r.c.received_at)

    def n(cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((cond, 1), else_=0))

    def by_month(table: Table, keys: tuple[str, ...], counters: tuple[str, ...]) -> None:
        t = table
        month = _sql_month(session, t.c.day)
        session.execute(
            t.insert().from_select(
                ["grain", "day", *keys, *counters],
                select(literal("m"), month, *[t.c[k] for k in keys], *[func.sum(t.c[c]) for c in counters])
                .where(t.c.grain == "d")
                .group_by(month, *[t.c[k] for k in keys]),
            )
        )

    received = table_of(StatsReceived)
    session.execute(
        received.insert().from_select(
            ["grain", "day", "county", "lead_unit", *RECEIVED_COUNTERS],
            select(
                literal("d"),
                rday,
                county,
                lead,
                func.count(),
                n(r.c.accepted_at.is_not(None)),
                n(r.c.outcome == "rejected"),
                n(r.c.outcome == "withdrawn"),
                n(r.c.is_open == True),  # noqa: E712
                n(r.c.ever_overdue == True),  # noqa: E712
                n(r.c.escalated == True),  # noqa: E712
                *[n(r.c.leader_mode == mode) for mode in LM_COLUMNS],
            ).group_by(rday, county, lead),
        )
    )
    by_month(received, ("county", "lead_unit"), RECEIVED_COUNTERS)

    dims = table_of(StatsReceivedDim)
    for dim in ("category", "mode"):
        value = r.c[dim]
        session.execute(
            dims.insert().from_select(
                ["grain", "day", "county", "dim", "value", "received"],
                select(literal("d"), rday, county, literal(dim), value, func.count())
                .where(value.is_not(None), value != "")
                .group_by(rday, county, value),
            )
        )
    by_month(dims, ("county", "dim", "value"), ("received",))

    closed = table_of(StatsClosed)
    cday = _sql_day(session, r.c.closed_at)
    handled = r.c.on_time.is_not(None)
    session.execute(
        closed.insert().from_select(
            ["grain", "day", "county", "lead_unit", *CLOSED_COUNTERS],
            select(
                literal("d"),
                cday,
                county,
                lead,
                func.count(),
                n(r.c.outcome == "solved"),
                n(handled),
                n(r.c.on_time == True),  # noqa: E712
                n(and_(handled, r.c.reopen_count > 0)),  # noqa: E712
                n(r.c.satisfaction.in_(GOOD_SATISFACTION)),
                n(r.c.satisfaction.in_(ANSWERED_SATISFACTION)),
                func.sum(case((r.c.outcome == "solved", func.coalesce(r.c.workdays_to_close, 0)), else_=0)),
            )
            .where(r.c.closed_at.is_not(None))
            .group_by(cday, county, lead),
        )
    )
    by_month(closed, ("county", "lead_unit"), CLOSED_COUNTERS)

    u = table_of(CaseUnit)
    units = table_of(StatsUnit)
    uday = _sql_day(session, u.c.assigned_at)
    ucounty = func.coalesce(u.c.county, NONE)
    session.execute(
        units.insert().from_select(
            ["grain", "day", "county", "unit", "assigned"],
            select(literal("d"), uday, ucounty, u.c.unit, func.count()).group_by(uday, ucounty, u.c.unit),
        )
    )
    by_month(units, ("county", "unit"), ("assigned",))

    days = table_of(StatsEnterpriseDay)
    with_uscc = r.c.uscc.is_not(None)
    session.execute(
        days.insert().from_select(
            ["county", "uscc", "day", "cases"],
            select(county, r.c.uscc, rday, func.count()).where(with_uscc).group_by(county, r.c.uscc, rday),
        )
    )
    session.execute(
        days.insert().from_select(
            ["county", "uscc", "day", "cases"],
            select(literal(ALL_COUNTIES), r.c.uscc, rday, func.count()).where(with_uscc).group_by(r.c.uscc, rday),
        )
    )
    enterprises = table_of(StatsEnterprise)
    session.execute(
        enterprises.insert().from_select(
            ["county", "uscc", "cases"],
            select(days.c.county, days.c.uscc, func.sum(days.c.cases)).group_by(days.c.county, days.c.uscc),
        )
    )
    prev = func.lag(days.c.day).over(partition_by=(days.c.county, days.c.uscc), order_by=days.c.day)
    chain = select(days.c.county, days.c.day, prev.label("prev_day")).subquery()
    prev_day = func.coalesce(chain.c.prev_day, literal(FIRST_DAY, Date))
    gaps = table_of(StatsEnterpriseGap)
    session.execute(
        gaps.insert().from_select(
            ["county", "day", "prev_day", "n"],
            select(chain.c.county, chain.c.day, prev_day, func.count()).group_by(chain.c.county, chain.c.day, prev_day),
        )
    )
    session.flush()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m.__table__)) or 0 for m in ROLLUP_TABLES}
