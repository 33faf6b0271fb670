"""Statistics of the 直通车: the typed projection of each case, the dashboard figures, the unit
assessment (考核) and the case filters every figure links to.

The projection (``project``) runs inside the engine's save path (``Engine._save``), so
``case_record`` and ``case_unit`` always change in the same transaction as the instance.
So do the rollups (``stats_*`` tables, engine/models.py): ``project`` applies the difference
between a case's old and new contributions as concurrency-safe upserts, per day and per
month. The dashboard and the assessment read the rollups (a period = its whole months + the
days at either end), never scanning the cases; only "overdue now" counts case_record rows
(the open cases not yet due). SQLAlchemy Core only, on SQLite and PostgreSQL.
``rebuild_rollups`` (``zhitongche stats-rebuild``) recomputes them from scratch.

Figure definitions (a period is a range of Beijing calendar dates, both ends included):

- *received* — cases registered in the period (``received_at``); *accepted* — of those, the
  ones accepted at intake; *rejected*, *withdrawn* — of those, closed with that outcome;
  *in progress* — of those, still open now; *overdue* — of those, turned red (past the
  deadline) at least once; *overdue now* — of those, open with the deadline passed now;
- by category / county — cases received; by handling mode / lead unit — cases received and
  dispatched; 签批督办 / 专题会议 / 现场办公 — cases received whose leaders chose that mode;
- *solved* (解决难题) — cases closed in the period with outcome ``solved``;
- *on-time rate* — of the cases closed in the period after handling by a unit (outcome
  solved, explained or no answer), the share that never turned red;
- *working days to close* — mean working days from registration to closing, cases solved in
  the period; *satisfaction rate* — of the return visits answered (满意/基本满意/不满意) on
  cases closed in the period, the share 满意 or 基本满意; *reopen rate* — of the handled cases
  closed in the period, the share reopened at least once;
- *enterprises contacted* (沟通企业) — distinct unified social credit codes among the cases
  received in the period;
- *department coordinations* (协调部门) — unit assignments (one per unit per case, lead or
  cooperating) made in the period (``case_unit.assigned_at``);
- *research visits* (调研), *park files* (重点产业园档案) — work records of that kind dated in
  the period; *bulletins* — issues signed off in the period, per series; *weekly reports*
  (“1+7”周报) — publications of the ``ztc_weekly_report`` process in the period.
"""
from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, and_, case, cast, delete, func, literal, or_, select, text
from sqlalchemy.orm import Session

from .models import (AuditEntry, Bulletin, BulletinSeries, CaseRecord, CaseUnit, Instance, StatsClosed,
                     StatsEnterprise, StatsEnterpriseDay, StatsEnterpriseGap, StatsReceived, StatsReceivedDim,
                     StatsUnit, WorkRecord)
from .workdays import CHINA, to_china_date

UTC = _dt.timezone.utc
PRE_ACCEPT = frozenset({"待受理", "待补充材料", "不予受理", "已撤回"})
HANDLED_OUTCOMES = ("solved", "explained", "no_answer")
GOOD_SATISFACTION = ("满意", "基本满意")
ANSWERED_SATISFACTION = ("满意", "基本满意", "不满意")
LEADER_MODES = ("签批督办", "专题会议", "现场办公")
WEEKLY_PROCESS, WEEKLY_PUBLISH_TASK = "ztc_weekly_report", "Task_publish"
RECORD_KINDS = {"research_visit": "调研", "park_file": "重点产业园档案"}
BULLETIN_SERIES = {  # the standard 专报 series (engine/bulletins.py numbers their issues)
    "ztc": "书记市长直通车专报",
    "key_project": "重点项目建设情况专报",
    "six_batches": "项目建设“六个一批”进展情况通报",
}


# -- the projection ------------------------------------------------------------------------
def _parse_dt(value: Any) -> _dt.datetime | None:
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


def project(session: Session, instance: Instance, calendar=None, now: _dt.datetime | None = None,
            actor: str | None = None) -> CaseRecord | None:
    """Bring ``case_record``/``case_unit`` (and a bulletin's row) up to date with the instance.

    Called by ``Engine._save`` after every step, before its flush. Only instances whose
    summary carries a ``case_no`` are cases; a ``bulletin_id`` marks a bulletin process.
    """
    summary = instance.summary or {}
    if summary.get("bulletin_id"):
        from .bulletins import project_bulletin

        project_bulletin(session, instance, summary, now, actor)
        return None
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
    record.received_at = _parse_dt(summary.get("registered_at")) or instance.created_at or now
    if record.accepted_at is None and status and status not in PRE_ACCEPT:
        record.accepted_at = _parse_dt(summary.get("accepted_at")) or now
    record.closed_at = None if is_open else (instance.ended_at or record.closed_at or now)
    record.deadline = _parse_dt(summary.get("deadline"))
    record.warning = summary.get("warning")
    record.ever_overdue = bool(record.ever_overdue or summary.get("overdue") or summary.get("warning") == "red")
    record.reopen_count = int(summary.get("reopen_count") or 0)
    record.escalated = bool(summary.get("escalated"))
    record.leader_mode = summary.get("leader_mode")
    record.satisfaction = summary.get("satisfaction")
    handled = not is_open and lead is not None and outcome in HANDLED_OUTCOMES
    record.on_time = (not record.ever_overdue) if handled else None
    if not is_open and calendar is not None:
        record.workdays_to_close = calendar.workdays_between(to_china_date(record.received_at),
                                                             to_china_date(record.closed_at))
    else:
        record.workdays_to_close = None
    record.updated_at = now

    assigned: dict[tuple, dict[str, int]] = {}
    if lead != record.lead_unit or coop != list(record.coop_units or []):
        assigned = _assign_units(session, instance.id, record.county, lead, coop, now)
    record.lead_unit = lead
    record.coop_units = coop
    _apply_rollups(session, _delta(before, _contributions(record), assigned))
    _move_enterprise(session, enterprise_before, _enterprise_key(record))
    return record


def _assign_units(session: Session, instance_id: int, county: str | None, lead: str | None, coop: list[str],
                  now: _dt.datetime) -> dict[tuple, dict[str, int]]:
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
LM_COLUMNS = dict(zip(LEADER_MODES, ("lm_sign", "lm_meeting", "lm_site")))
ROLLUPS = {  # name → (table, key columns after grain)
    "received": (StatsReceived.__table__, ("day", "county", "lead_unit")),
    "received_dim": (StatsReceivedDim.__table__, ("day", "county", "dim", "value")),
    "closed": (StatsClosed.__table__, ("day", "county", "lead_unit")),
    "unit": (StatsUnit.__table__, ("day", "county", "unit")),
}
RECEIVED_COUNTERS = ("received", "accepted", "rejected", "withdrawn", "still_open", "overdue", "escalated",
                     *LM_COLUMNS.values())
CLOSED_COUNTERS = ("closed", "solved", "handled", "on_time", "reopened", "sat_good", "sat_answered", "wd_sum")
COUNTERS = {"received": RECEIVED_COUNTERS, "received_dim": ("received",), "closed": CLOSED_COUNTERS,
            "unit": ("assigned",)}


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
        "received": 1, "accepted": int(r.accepted_at is not None), "rejected": int(r.outcome == "rejected"),
        "withdrawn": int(r.outcome == "withdrawn"), "still_open": int(r.is_open is True),
        "overdue": int(r.ever_overdue is True), "escalated": int(r.escalated is True),
        **{column: int(r.leader_mode == mode) for mode, column in LM_COLUMNS.items()}}
    for dim in ("category", "mode"):
        value = getattr(r, dim)
        if value:
            out[("received_dim", (day, county, dim, value))] = {"received": 1}
    if r.closed_at is not None:
        handled = r.on_time is not None
        out[("closed", (_china_day(r.closed_at), county, r.lead_unit or NONE))] = {
            "closed": 1, "solved": int(r.outcome == "solved"), "handled": int(handled),
            "on_time": int(r.on_time is True), "reopened": int(handled and (r.reopen_count or 0) > 0),
            "sat_good": int(r.satisfaction in GOOD_SATISFACTION),
            "sat_answered": int(r.satisfaction in ANSWERED_SATISFACTION),
            "wd_sum": (r.workdays_to_close or 0) if r.outcome == "solved" else 0}
    return out


def _delta(before: dict, after: dict, *more: dict) -> dict[tuple, dict[str, int]]:
    out: dict[tuple, dict[str, int]] = {}
    for sign, part in [(-1, before), (1, after), *[(1, m) for m in more]]:
        for key, counters in part.items():
            acc = out.setdefault(key, {})
            for name, n in counters.items():
                acc[name] = acc.get(name, 0) + sign * n
    return {key: acc for key, acc in out.items() if any(acc.values())}


@functools.lru_cache(maxsize=None)
def _upsert_statement(dialect: str, table, keys: tuple[str, ...], counters: tuple[str, ...], returning: bool):
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter, built once
    per table and dialect: executed with bound rows, its compiled form is cached."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the engine runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"statistics rollups on {dialect}")
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in counters})
    return stmt.returning(*[table.c[c] for c in counters]) if returning else stmt


def _upsert_add(session: Session, table, keys: tuple[str, ...], rows: list[dict[str, Any]], counters: tuple[str, ...],
                returning: bool = False):
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
        counters = COUNTERS[name]
        batch = [{**dict(zip(("grain", *keys), key)), **{c: acc.get(c, 0) for c in counters}}
                 for key, acc in rows[name].items() if any(acc.values())]
        if batch:
            _upsert_add(session, table, ("grain", *keys), batch, counters)


def _enterprise_key(r: CaseRecord) -> tuple | None:
    if r.uscc is None or r.received_at is None:
        return None
    return (r.county or NONE, r.uscc, _china_day(r.received_at))


def _move_enterprise(session: Session, before: tuple | None, after: tuple | None) -> None:
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
    e, d = StatsEnterprise.__table__, StatsEnterpriseDay.__table__
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
    _upsert_add(session, StatsEnterpriseGap.__table__, ("county", "day", "prev_day"),
                [{"county": county, "day": a, "prev_day": p, "n": n} for (a, p), n in gaps.items()], ("n",))


def _sql_day(session: Session, column):
    """SQL: the Beijing calendar date of a UTC timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column) + _dt.timedelta(hours=8), Date)
    return func.date(column, "+8 hours")


def _sql_month(session: Session, column):
    """SQL: the first of the month of a date column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


ROLLUP_TABLES = (StatsReceived, StatsReceivedDim, StatsClosed, StatsUnit, StatsEnterprise, StatsEnterpriseDay,
                 StatsEnterpriseGap)


def rebuild_rollups(session: Session) -> dict[str, int]:
    """Recompute every rollup table from case_record and case_unit (for a database that had
    cases before the rollups existed, or to check them). Set-based SQL, in the caller's
    transaction; returns the rows per table. Cases changing meanwhile wait (PostgreSQL: the
    tables are locked in SHARE ROW EXCLUSIVE mode until commit)."""
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(m.__tablename__ for m in ROLLUP_TABLES)
        session.execute(text(f"LOCK TABLE case_record, case_unit, {names} IN SHARE ROW EXCLUSIVE MODE"))
    for model in ROLLUP_TABLES:
        session.execute(delete(model.__table__))
    r = CaseRecord.__table__
    county = func.coalesce(r.c.county, NONE)
    lead = func.coalesce(r.c.lead_unit, NONE)
    rday = _sql_day(session, r.c.received_at)

    def n(cond):
        return func.sum(case((cond, 1), else_=0))

    def by_month(table, keys, counters):
        t = table
        month = _sql_month(session, t.c.day)
        session.execute(t.insert().from_select(
            ["grain", "day", *keys, *counters],
            select(literal("m"), month, *[t.c[k] for k in keys], *[func.sum(t.c[c]) for c in counters])
            .where(t.c.grain == "d").group_by(month, *[t.c[k] for k in keys])))

    received = StatsReceived.__table__
    session.execute(received.insert().from_select(
        ["grain", "day", "county", "lead_unit", *RECEIVED_COUNTERS],
        select(literal("d"), rday, county, lead, func.count(), n(r.c.accepted_at.is_not(None)),
               n(r.c.outcome == "rejected"), n(r.c.outcome == "withdrawn"), n(r.c.is_open == True),  # noqa: E712
               n(r.c.ever_overdue == True), n(r.c.escalated == True),  # noqa: E712
               *[n(r.c.leader_mode == mode) for mode in LM_COLUMNS])
        .group_by(rday, county, lead)))
    by_month(received, ("county", "lead_unit"), RECEIVED_COUNTERS)

    dims = StatsReceivedDim.__table__
    for dim in ("category", "mode"):
        value = r.c[dim]
        session.execute(dims.insert().from_select(
            ["grain", "day", "county", "dim", "value", "received"],
            select(literal("d"), rday, county, literal(dim), value, func.count())
            .where(value.is_not(None), value != "").group_by(rday, county, value)))
    by_month(dims, ("county", "dim", "value"), ("received",))

    closed = StatsClosed.__table__
    cday = _sql_day(session, r.c.closed_at)
    handled = r.c.on_time.is_not(None)
    session.execute(closed.insert().from_select(
        ["grain", "day", "county", "lead_unit", *CLOSED_COUNTERS],
        select(literal("d"), cday, county, lead, func.count(), n(r.c.outcome == "solved"), n(handled),
               n(r.c.on_time == True), n(and_(handled, r.c.reopen_count > 0)),  # noqa: E712
               n(r.c.satisfaction.in_(GOOD_SATISFACTION)), n(r.c.satisfaction.in_(ANSWERED_SATISFACTION)),
               func.sum(case((r.c.outcome == "solved", func.coalesce(r.c.workdays_to_close, 0)), else_=0)))
        .where(r.c.closed_at.is_not(None)).group_by(cday, county, lead)))
    by_month(closed, ("county", "lead_unit"), CLOSED_COUNTERS)

    u = CaseUnit.__table__
    units = StatsUnit.__table__
    uday = _sql_day(session, u.c.assigned_at)
    ucounty = func.coalesce(u.c.county, NONE)
    session.execute(units.insert().from_select(
        ["grain", "day", "county", "unit", "assigned"],
        select(literal("d"), uday, ucounty, u.c.unit, func.count()).group_by(uday, ucounty, u.c.unit)))
    by_month(units, ("county", "unit"), ("assigned",))

    days = StatsEnterpriseDay.__table__
    with_uscc = r.c.uscc.is_not(None)
    session.execute(days.insert().from_select(
        ["county", "uscc", "day", "cases"],
        select(county, r.c.uscc, rday, func.count()).where(with_uscc).group_by(county, r.c.uscc, rday)))
    session.execute(days.insert().from_select(
        ["county", "uscc", "day", "cases"],
        select(literal(ALL_COUNTIES), r.c.uscc, rday, func.count()).where(with_uscc).group_by(r.c.uscc, rday)))
    enterprises = StatsEnterprise.__table__
    session.execute(enterprises.insert().from_select(
        ["county", "uscc", "cases"],
        select(days.c.county, days.c.uscc, func.sum(days.c.cases)).group_by(days.c.county, days.c.uscc)))
    prev = func.lag(days.c.day).over(partition_by=(days.c.county, days.c.uscc), order_by=days.c.day)
    chain = select(days.c.county, days.c.day, prev.label("prev_day")).subquery()
    prev_day = func.coalesce(chain.c.prev_day, literal(FIRST_DAY, Date))
    gaps = StatsEnterpriseGap.__table__
    session.execute(gaps.insert().from_select(
        ["county", "day", "prev_day", "n"],
        select(chain.c.county, chain.c.day, prev_day, func.count()).group_by(chain.c.county, chain.c.day, prev_day)))
    session.flush()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m.__table__)) for m in ROLLUP_TABLES}


# -- filters -------------------------------------------------------------------------------
@dataclass
class Period:
    start: _dt.date | None = None
    end: _dt.date | None = None  # inclusive

    def bounds(self) -> tuple[_dt.datetime | None, _dt.datetime | None]:
        lo = _dt.datetime.combine(self.start, _dt.time(), CHINA).astimezone(UTC) if self.start else None
        hi = (_dt.datetime.combine(self.end + _dt.timedelta(days=1), _dt.time(), CHINA).astimezone(UTC)
              if self.end else None)
        return lo, hi

    def args(self) -> dict[str, str]:
        out = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        return out


def _between(column, period: Period):
    lo, hi = period.bounds()
    clauses = []
    if lo is not None:
        clauses.append(column >= lo)
    if hi is not None:
        clauses.append(column < hi)
    return and_(*clauses) if clauses else literal(True)


def _day_between(column, period: Period):
    clauses = []
    if period.start:
        clauses.append(column >= period.start)
    if period.end:
        clauses.append(column <= period.end)
    return and_(*clauses) if clauses else literal(True)


@dataclass
class CaseFilter:
    """The case-list filter behind a figure (URL arguments of the cases page)."""

    received: Period | None = None
    closed: Period | None = None
    county: str | None = None
    category: str | None = None
    mode: str | None = None
    lead_unit: str | None = None
    unit: str | None = None  # lead or cooperating
    outcome: str | None = None
    open: bool | None = None
    accepted: bool = False
    ever_overdue: bool = False
    overdue_now: bool = False
    handled: bool = False
    on_time: bool | None = None
    leader_mode: str | None = None
    satisfaction: str | None = None  # a label, or "good" / "answered"
    reopened: bool = False
    escalated: bool = False

    ARGS = ("received_from", "received_to", "closed_from", "closed_to", "rcounty", "rcategory", "mode", "lead_unit",
            "unit", "outcome", "state", "accepted", "ever_overdue", "overdue_now", "handled", "on_time",
            "leader_mode", "satisfaction", "reopened", "escalated")

    @classmethod
    def from_args(cls, args) -> "CaseFilter | None":
        """From URL arguments; None when none of them is present."""
        if not any(args.get(k) for k in cls.ARGS):
            return None

        def day(name):
            try:
                return _dt.date.fromisoformat(args.get(name, "")) if args.get(name) else None
            except ValueError:
                return None

        def period(prefix):
            start, end = day(prefix + "_from"), day(prefix + "_to")
            return Period(start, end) if (start or end) else None

        state = args.get("state")
        on_time = args.get("on_time")
        return cls(received=period("received"), closed=period("closed"), county=args.get("rcounty") or None,
                   category=args.get("rcategory") or None, mode=args.get("mode") or None,
                   lead_unit=args.get("lead_unit") or None, unit=args.get("unit") or None,
                   outcome=args.get("outcome") or None, open={"open": True, "closed": False}.get(state),
                   accepted=args.get("accepted") == "1", ever_overdue=args.get("ever_overdue") == "1",
                   overdue_now=args.get("overdue_now") == "1", handled=args.get("handled") == "1",
                   on_time={"1": True, "0": False}.get(on_time), leader_mode=args.get("leader_mode") or None,
                   satisfaction=args.get("satisfaction") or None, reopened=args.get("reopened") == "1",
                   escalated=args.get("escalated") == "1")

    def clauses(self, now: _dt.datetime) -> list:
        r = CaseRecord
        out = []
        if self.received:
            out.append(_between(r.received_at, self.received))
        if self.closed:
            out.append(_between(r.closed_at, self.closed))
        if self.county:
            out.append(r.county == self.county)
        if self.category:
            out.append(r.category == self.category)
        if self.mode:
            out.append(r.mode == self.mode)
        if self.lead_unit:
            out.append(r.lead_unit == self.lead_unit)
        if self.unit:
            out.append(r.instance_id.in_(select(CaseUnit.instance_id).where(CaseUnit.unit == self.unit)))
        if self.outcome:
            out.append(r.outcome == self.outcome)
        if self.open is not None:
            out.append(r.is_open == self.open)
        if self.accepted:
            out.append(r.accepted_at.is_not(None))
        if self.ever_overdue:
            out.append(r.ever_overdue == True)  # noqa: E712
        if self.overdue_now:
            out.extend([r.is_open == True, r.deadline < now])  # noqa: E712
        if self.handled:
            out.append(r.on_time.is_not(None))
        if self.on_time is not None:
            out.append(r.on_time == self.on_time)
        if self.leader_mode:
            out.append(r.leader_mode == self.leader_mode)
        if self.satisfaction == "good":
            out.append(r.satisfaction.in_(GOOD_SATISFACTION))
        elif self.satisfaction == "answered":
            out.append(r.satisfaction.in_(ANSWERED_SATISFACTION))
        elif self.satisfaction:
            out.append(r.satisfaction == self.satisfaction)
        if self.reopened:
            out.append(r.reopen_count > 0)
        if self.escalated:
            out.append(r.escalated == True)  # noqa: E712
        return out


def case_list_args(base: dict[str, str], **extra: Any) -> dict[str, str]:
    """URL arguments of the cases page for a figure: the dashboard's scope plus ``extra``."""
    out = dict(base)
    out.update({k: ("1" if v is True else str(v)) for k, v in extra.items() if v not in (None, False, "")})
    return out


# -- who sees statistics -------------------------------------------------------------------
def can_see_stats(principal) -> bool:
    if principal.is_enterprise:
        return False
    return any(g == "admin" or g.startswith(("wg:", "leader:")) for g in principal.groups)


def stats_scope(principal) -> set[str] | None:
    """None: every county; else the counties the person's statistics are limited to."""
    if principal.is_enterprise:
        return set()
    if principal.groups & {"admin", "wg:city", "leader:city"}:
        return None
    return set(principal.counties)


def scoped_county(principal, wanted: str | None) -> str | None:
    """The county the figures are for: what was asked, within the person's scope."""
    scope = stats_scope(principal)
    if scope is None:
        return wanted or None
    if wanted in scope:
        return wanted
    if not scope:
        raise PermissionError("no statistics for this person")
    return sorted(scope)[0]


# -- the dashboard -------------------------------------------------------------------------
@dataclass
class Dashboard:
    period: Period
    county: str | None
    totals: dict[str, Any]
    by_category: dict[str, int]
    by_county: dict[str, int]
    by_mode: dict[str, int]
    by_unit: dict[str, int]
    rates: dict[str, float | None]
    leader_modes: dict[str, int]
    bulletins: dict[str, dict[str, Any]]
    records: dict[str, int]
    links: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period.args(), "county": self.county, "totals": self.totals,
                "by_category": self.by_category, "by_county": self.by_county, "by_mode": self.by_mode,
                "by_unit": self.by_unit, "rates": self.rates, "leader_modes": self.leader_modes,
                "bulletins": self.bulletins, "records": self.records}


def _sum(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _next_month(day: _dt.date) -> _dt.date:
    return (day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)


def _grain_ranges(period: Period) -> list[tuple[str, _dt.date | None, _dt.date | None]]:
    """The period as rollup rows: (grain, first day, last day), None for an open end; its
    whole months at grain 'm', the days before and after them at grain 'd'."""
    start, end = period.start, period.end
    if start is not None and end is not None and start > end:
        return [("d", start, end)]  # nothing
    first = None if start is None else (start if start.day == 1 else _next_month(start))
    if end is None:
        last = None
    elif (end + _dt.timedelta(days=1)).day == 1:
        last = end.replace(day=1)
    else:
        last = (end.replace(day=1) - _dt.timedelta(days=1)).replace(day=1)
    if first is not None and last is not None and first > last:
        return [("d", start, end)]
    out: list[tuple[str, _dt.date | None, _dt.date | None]] = [("m", first, last)]
    if start is not None and start < first:
        out.append(("d", start, first - _dt.timedelta(days=1)))
    if end is not None and last is not None and _next_month(last) <= end:
        out.append(("d", _next_month(last), end))
    return out


def _rollup_where(table, period: Period, county: str | None) -> list:
    parts = []
    for grain, lo, hi in _grain_ranges(period):
        clauses = [table.c.grain == grain]
        if lo is not None:
            clauses.append(table.c.day >= lo)
        if hi is not None:
            clauses.append(table.c.day <= hi)
        parts.append(and_(*clauses))
    where = [or_(*parts) if len(parts) > 1 else parts[0]]
    if county:
        where.append(table.c.county == county)
    return where


def _received_groups(session: Session, period: Period, county: str | None):
    """The cases received in the period (stats_received), by county and lead unit."""
    t = StatsReceived.__table__
    stmt = select(t.c.county, t.c.lead_unit, *[func.sum(t.c[c]).label(c) for c in RECEIVED_COUNTERS]).where(
        *_rollup_where(t, period, county)).group_by(t.c.county, t.c.lead_unit).having(func.sum(t.c.received) > 0)
    return session.execute(stmt).all()


def _received_by(session: Session, period: Period, county: str | None) -> dict[str, dict[str, int]]:
    """The cases received in the period by category and by handling mode (stats_received_dim)."""
    t = StatsReceivedDim.__table__
    stmt = select(t.c.dim, t.c.value, func.sum(t.c.received)).where(
        *_rollup_where(t, period, county)).group_by(t.c.dim, t.c.value)
    out: dict[str, dict[str, int]] = {"category": {}, "mode": {}}
    for dim, value, n in session.execute(stmt):
        if n:
            out.setdefault(dim, {})[value] = int(n)
    return out


def _closed_groups(session: Session, period: Period, county: str | None):
    """The cases closed in the period (stats_closed), by lead unit."""
    t = StatsClosed.__table__
    stmt = select(t.c.lead_unit, *[func.sum(t.c[c]).label(c) for c in CLOSED_COUNTERS]).where(
        *_rollup_where(t, period, county)).group_by(t.c.lead_unit).having(func.sum(t.c.closed) > 0)
    return session.execute(stmt).all()


def open_not_overdue(session: Session, period: Period, county: str | None, now: _dt.datetime) -> int:
    """Cases received in the period, open, without a deadline or with the deadline not passed
    ``now`` (case_record through ix_case_record_open_deadline: the open cases not yet due).
    "Overdue now" is the period's open cases (stats_received) minus these."""
    r = CaseRecord
    where = [r.is_open == True, or_(r.deadline >= now, r.deadline.is_(None)),  # noqa: E712
             _between(r.received_at, period)]
    if county:
        where.append(r.county == county)
    return session.scalar(select(func.count()).select_from(r).where(*where)) or 0


def distinct_enterprises(session: Session, period: Period, county: str | None) -> int:
    """Distinct enterprises among the cases received in the period: the enterprise-days in the
    period whose previous day (same enterprise, same county or all counties) is before it."""
    g = StatsEnterpriseGap.__table__
    where = [g.c.county == (county or ALL_COUNTIES)]
    if period.start is None:
        where.append(g.c.prev_day == FIRST_DAY)
    else:
        where += [g.c.day >= period.start, g.c.prev_day < period.start]
    if period.end is not None:
        where.append(g.c.day <= period.end)
    return int(session.scalar(select(func.coalesce(func.sum(g.c.n), 0)).where(*where)) or 0)


def coordinations(session: Session, period: Period, county: str | None) -> dict[str, int]:
    """Unit assignments made in the period, per unit (stats_unit)."""
    t = StatsUnit.__table__
    stmt = select(t.c.unit, func.sum(t.c.assigned)).where(*_rollup_where(t, period, county)).group_by(t.c.unit)
    return {unit: int(n) for unit, n in session.execute(stmt) if n}


def bulletin_counts(session: Session, period: Period, county: str | None) -> dict[str, dict[str, Any]]:
    b = Bulletin
    series = dict(BULLETIN_SERIES)
    series.update({code: name for code, name in session.execute(select(BulletinSeries.code, BulletinSeries.name))})
    stmt = select(b.series, func.count()).where(b.status == "issued", _between(b.issued_at, period))
    if county:
        stmt = stmt.where(b.county == county)
    counts = dict(session.execute(stmt.group_by(b.series)).all())
    return {code: {"name": name, "issued": counts.get(code, 0)} for code, name in series.items()}


def record_counts(session: Session, period: Period, county: str | None) -> dict[str, int]:
    w = WorkRecord
    stmt = select(w.kind, func.count()).where(_day_between(w.occurred_on, period))
    if county:
        stmt = stmt.where(w.county == county)
    counts = dict(session.execute(stmt.group_by(w.kind)).all())
    out = {kind: counts.get(kind, 0) for kind in RECORD_KINDS}
    out["weekly_report"] = weekly_reports(session, period)
    return out


def weekly_reports(session: Session, period: Period) -> int:
    """“1+7” weekly reports published in the period (completions of the publish task)."""
    a = AuditEntry
    return session.scalar(select(func.count()).select_from(a).join(Instance, Instance.id == a.instance_id).where(
        a.action == "complete", a.task_bpmn_id == WEEKLY_PUBLISH_TASK, Instance.process_id == WEEKLY_PROCESS,
        _between(a.at, period))) or 0


def dashboard(session: Session, period: Period, county: str | None = None,
              now: _dt.datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for the period and county (None: all counties).

    The caller has already limited ``county`` to what the person may see (``scoped_county``).
    """
    now = now or _dt.datetime.now(UTC)
    received_rows = _received_groups(session, period, county)
    closed_rows = _closed_groups(session, period, county)
    totals = {k: 0 for k in ("received", "accepted", "rejected", "withdrawn", "open", "overdue", "overdue_now",
                             "escalated")}
    by_county: dict[str, int] = {}
    by_unit: dict[str, int] = {}
    leader_modes = {m: 0 for m in LEADER_MODES}
    for row in received_rows:
        for key in totals:
            if key not in ("open", "overdue_now"):
                totals[key] += int(getattr(row, key) or 0)
        totals["open"] += int(row.still_open or 0)
        if row.county and row.received:
            by_county[row.county] = by_county.get(row.county, 0) + int(row.received)
        if row.lead_unit and row.received:
            by_unit[row.lead_unit] = by_unit.get(row.lead_unit, 0) + int(row.received)
        for mode, column in LM_COLUMNS.items():
            leader_modes[mode] += int(getattr(row, column) or 0)
    totals["overdue_now"] = totals["open"] - open_not_overdue(session, period, county, now)
    dims = _received_by(session, period, county)
    by_category, by_mode = dims["category"], dims["mode"]
    closed = {k: 0 for k in ("closed", "solved", "handled", "on_time", "reopened", "sat_good", "sat_answered",
                             "wd_sum")}
    for row in closed_rows:
        for key in closed:
            closed[key] += int(getattr(row, key) or 0)
    coord = coordinations(session, period, county)
    totals.update(solved=closed["solved"], closed=closed["closed"], handled=closed["handled"],
                  on_time=closed["on_time"], enterprises=distinct_enterprises(session, period, county),
                  coordinations=sum(coord.values()))
    rates = {
        "on_time": _ratio(closed["on_time"], closed["handled"]),
        "satisfaction": _ratio(closed["sat_good"], closed["sat_answered"]),
        "reopen": _ratio(closed["reopened"], closed["handled"]),
        "workdays_to_close": round(closed["wd_sum"] / closed["solved"], 1) if closed["solved"] else None,
    }
    board = Dashboard(period, county, totals, dict(sorted(by_category.items(), key=lambda kv: -kv[1])), by_county,
                      by_mode, dict(sorted(by_unit.items(), key=lambda kv: -kv[1])), rates, leader_modes,
                      bulletin_counts(session, period, county), record_counts(session, period, county))
    board.links = figure_links(period, county)
    return board


def figure_links(period: Period, county: str | None) -> dict[str, dict[str, str]]:
    """The cases-page arguments of every case figure (what a click on the figure lists)."""
    recv = {"received_from": period.start.isoformat() if period.start else "",
            "received_to": period.end.isoformat() if period.end else "", "rcounty": county or ""}
    recv = {k: v for k, v in recv.items() if v}
    clos = {"closed_from": period.start.isoformat() if period.start else "",
            "closed_to": period.end.isoformat() if period.end else "", "rcounty": county or ""}
    clos = {k: v for k, v in clos.items() if v}
    if not clos:
        clos = {"state": "closed"}
    links = {
        "received": case_list_args(recv) or {"state": ""},
        "accepted": case_list_args(recv, accepted=True),
        "rejected": case_list_args(recv, outcome="rejected"),
        "withdrawn": case_list_args(recv, outcome="withdrawn"),
        "open": case_list_args(recv, state="open"),
        "overdue": case_list_args(recv, ever_overdue=True),
        "overdue_now": case_list_args(recv, overdue_now=True),
        "escalated": case_list_args(recv, escalated=True),
        "solved": case_list_args(clos, outcome="solved"),
        "closed": case_list_args(clos),
        "handled": case_list_args(clos, handled=True),
        "on_time": case_list_args(clos, on_time="1"),
        "satisfaction": case_list_args(clos, satisfaction="good"),
        "reopen": case_list_args(clos, handled=True, reopened=True),
        "workdays_to_close": case_list_args(clos, outcome="solved"),
        "enterprises": case_list_args(recv),
    }
    if not recv:
        links["received"] = {"state": "all"}
    for mode in LEADER_MODES:
        links[f"leader:{mode}"] = case_list_args(recv, leader_mode=mode)
    links["_received"] = recv
    links["_closed"] = clos
    return links


# -- the unit assessment (考核) -------------------------------------------------------------
@dataclass
class UnitScore:
    unit: str
    received: int = 0  # cases led, received in the period
    overdue: int = 0  # of those, turned red at least once
    closed: int = 0  # handled cases led, closed in the period
    on_time: int = 0
    sat_good: int = 0
    sat_answered: int = 0
    coordinations: int = 0  # assignments (lead or cooperating) in the period
    rank: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.sat_good, self.sat_answered)

    def as_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "unit": self.unit, "received": self.received, "closed": self.closed,
                "on_time": self.on_time, "on_time_rate": self.on_time_rate, "sat_good": self.sat_good,
                "sat_answered": self.sat_answered, "satisfaction_rate": self.satisfaction_rate,
                "overdue": self.overdue, "coordinations": self.coordinations}


def assessment(session: Session, period: Period, county: str | None = None,
               now: _dt.datetime | None = None) -> list[UnitScore]:
    """Units ranked by on-time rate (high first), then satisfaction rate (high first), then
    overdue count (low first); units with nothing closed in the period come last."""
    now = now or _dt.datetime.now(UTC)
    scores: dict[str, UnitScore] = {}

    def score(unit):
        return scores.setdefault(unit, UnitScore(unit))

    for row in _received_groups(session, period, county):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.received += int(row.received or 0)
            s.overdue += int(row.overdue or 0)
    for row in _closed_groups(session, period, county):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.closed += int(row.handled or 0)
            s.on_time += int(row.on_time or 0)
            s.sat_good += int(row.sat_good or 0)
            s.sat_answered += int(row.sat_answered or 0)
    for unit, n in coordinations(session, period, county).items():
        score(unit).coordinations += n

    def key(s: UnitScore):
        return (s.on_time_rate is None, -(s.on_time_rate or 0), -(s.satisfaction_rate or 0), s.overdue, s.unit)

    ranked = sorted(scores.values(), key=key)
    for i, s in enumerate(ranked, start=1):
        s.rank = i
    return ranked


def parse_period(start: str | None, end: str | None) -> Period:
    def day(value):
        try:
            return _dt.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    return Period(day(start), day(end))


def export_rows(session: Session, instances: list[Instance], names) -> list[dict[str, Any]]:
    """Rows of the case-list workbook for the given cases (in their order)."""
    ids = [i.id for i in instances]
    records = {r.instance_id: r for r in session.scalars(select(CaseRecord).where(CaseRecord.instance_id.in_(ids or [-1])))}

    def when(value):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value else None

    rows = []
    for inst in instances:
        s = inst.summary or {}
        r = records.get(inst.id)
        rows.append({
            "case_no": s.get("case_no") or inst.business_key, "enterprise": s.get("enterprise_name"),
            "uscc": s.get("uscc"), "title": s.get("title"), "category": s.get("category"),
            "county": names.county_name(s.get("county")), "level": {"city": "市级", "county": "县级"}.get(s.get("level")),
            "urgency": s.get("urgency"), "mode": s.get("mode"), "lead_unit": names.unit_name(s.get("lead_unit")),
            "coop_units": "、".join(names.unit_name(u) for u in (s.get("coop_units") or [])),
            "status": s.get("status"), "outcome": s.get("outcome"),
            "received_at": when(r.received_at) if r else when(inst.created_at),
            "closed_at": when(r.closed_at) if r else when(inst.ended_at),
            "deadline": when(r.deadline) if r else s.get("deadline"),
            "ever_overdue": ("是" if r.ever_overdue else "否") if r else None,
            "leader_mode": s.get("leader_mode"), "satisfaction": s.get("satisfaction"),
            "reopen_count": s.get("reopen_count"), "workdays_to_close": r.workdays_to_close if r else None,
        })
    return rows
