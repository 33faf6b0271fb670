"""Reading the statistics: who sees them (engine/access.py's rules) and the dashboard's figures,
from the rollups (``rollups``, kept by ``projection``); periods and case filters are in ``periods``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Row, and_, func, or_, select
from sqlalchemy.orm import Session

from .. import access
from ..models import (
    AuditEntry,
    Bulletin,
    BulletinSeries,
    CaseRecord,
    Instance,
    StatsClosed,
    StatsEnterpriseGap,
    StatsReceived,
    StatsReceivedDim,
    StatsUnit,
    WorkRecord,
)
from .periods import BULLETIN_SERIES, RECORD_KINDS, Period, between, case_list_args, day_between
from .rollups import ALL_COUNTIES, CLOSED_COUNTERS, FIRST_DAY, LEADER_MODES, LM_COLUMNS, RECEIVED_COUNTERS, UTC

WEEKLY_PROCESS, WEEKLY_PUBLISH_TASK = "ztc_weekly_report", "Task_publish"
can_see_stats = access.can_see_statistics
stats_scope = access.statistics_scope


def scoped_county(principal: access.Principal, wanted: str | None) -> str | None:
    """The county the figures are for: what was asked, within the person's scope; ``NotAllowed``
    for someone without statistics."""
    access.check_statistics(principal)
    scope = stats_scope(principal)
    if scope is None:
        return wanted or None
    if wanted in scope:
        return wanted
    access.check(bool(scope), "no statistics for this person")
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
        return {
            "period": self.period.args(),
            "county": self.county,
            "totals": self.totals,
            "by_category": self.by_category,
            "by_county": self.by_county,
            "by_mode": self.by_mode,
            "by_unit": self.by_unit,
            "rates": self.rates,
            "leader_modes": self.leader_modes,
            "bulletins": self.bulletins,
            "records": self.records,
        }

    def top_units(self, n: int = 15) -> list[list]:
        """The ``n`` lead units with most cases received: ``[code, count]``, most first (ties by
        code). A list, because JSON objects lose their order (Flask sorts keys)."""
        return [[u, c] for u, c in sorted(self.by_unit.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def ratio(num: int, den: int) -> float | None:
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
    if start is not None and first is not None and start < first:  # (first is set when start is)
        out.append(("d", start, first - _dt.timedelta(days=1)))
    if end is not None and last is not None and _next_month(last) <= end:
        out.append(("d", _next_month(last), end))
    return out


def _rollup_where(table: FromClause, period: Period, county: str | None) -> list[ColumnElement[bool]]:
    parts: list[ColumnElement[bool]] = []
    for grain, lo, hi in _grain_ranges(period):
        clauses: list[ColumnElement[bool]] = [table.c.grain == grain]
        if lo is not None:
            clauses.append(table.c.day >= lo)
        if hi is not None:
            clauses.append(table.c.day <= hi)
        parts.append(and_(*clauses))
    where = [or_(*parts) if len(parts) > 1 else parts[0]]
    if county:
        where.append(table.c.county == county)
    return where


def received_groups(session: Session, period: Period, county: str | None) -> Sequence[Row[*tuple[Any, ...]]]:
    """The cases received in the period (stats_received), by county and lead unit."""
    t = StatsReceived.__table__
    stmt = (
        select(t.c.county, t.c.lead_unit, *[func.sum(t.c[c]).label(c) for c in RECEIVED_COUNTERS])
        .where(*_rollup_where(t, period, county))
        .group_by(t.c.county, t.c.lead_unit)
        .having(func.sum(t.c.received) > 0)
    )
    return session.execute(stmt).all()


def _received_by(session: Session, period: Period, county: str | None) -> dict[str, dict[str, int]]:
    """The cases received in the period by category and by handling mode (stats_received_dim)."""
    t = StatsReceivedDim.__table__
    stmt = (
        select(t.c.dim, t.c.value, func.sum(t.c.received))
        .where(*_rollup_where(t, period, county))
        .group_by(t.c.dim, t.c.value)
    )
    out: dict[str, dict[str, int]] = {"category": {}, "mode": {}}
    for dim, value, n in session.execute(stmt):
        if n:
            out.setdefault(dim, {})[value] = int(n)
    return out


def closed_groups(session: Session, period: Period, county: str | None) -> Sequence[Row[*tuple[Any, ...]]]:
    """The cases closed in the period (stats_closed), by lead unit."""
    t = StatsClosed.__table__
    stmt = (
        select(t.c.lead_unit, *[func.sum(t.c[c]).label(c) for c in CLOSED_COUNTERS])
        .where(*_rollup_where(t, period, county))
        .group_by(t.c.lead_unit)
        .having(func.sum(t.c.closed) > 0)
    )
    return session.execute(stmt).all()


def open_not_overdue(session: Session, period: Period, county: str | None, now: _dt.datetime) -> int:
    """Cases received in the period, open, without a deadline or with the deadline not passed
    ``now`` (case_record through ix_case_record_open_deadline: the open cases not yet due).
    "Overdue now" is the period's open cases (stats_received) minus these."""
    r = CaseRecord
    where = [
        r.is_open == True,  # noqa: E712 - SQL
        or_(r.deadline >= now, r.deadline.is_(None)),  # noqa: E712
        between(r.received_at, period),
    ]
    if county:
        where.append(r.county == county)
    return session.scalar(select(func.count()).select_from(r).where(*where)) or 0


def awaiting_intake(session: Session, period: Period, county: str | None) -> int:
    """Cases received in the period, open and not accepted yet (受理审查, 补充材料): counted in
    "open" but not in "accepted" — the bulletin shows them apart so that 办理中 ≤ 已受理."""
    r = CaseRecord
    where = [r.is_open == True, r.accepted_at.is_(None), between(r.received_at, period)]  # noqa: E712
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
    stmt = select(b.series, func.count()).where(b.status == "issued", between(b.issued_at, period))
    if county:
        stmt = stmt.where(b.county == county)
    counts = dict(session.execute(stmt.group_by(b.series)).all())
    return {code: {"name": name, "issued": counts.get(code, 0)} for code, name in series.items()}


def record_counts(session: Session, period: Period, county: str | None) -> dict[str, int]:
    w = WorkRecord
    stmt = select(w.kind, func.count()).where(day_between(w.occurred_on, period))
    if county:
        stmt = stmt.where(w.county == county)
    counts = dict(session.execute(stmt.group_by(w.kind)).all())
    out = {kind: counts.get(kind, 0) for kind in RECORD_KINDS}
    out["weekly_report"] = weekly_reports(session, period)
    return out


def weekly_reports(session: Session, period: Period) -> int:
    """“1+7” weekly reports published in the period (completions of the publish task)."""
    a = AuditEntry
    return (
        session.scalar(
            select(func.count())
            .select_from(a)
            .join(Instance, Instance.id == a.instance_id)
            .where(
                a.action == "complete",
                a.task_bpmn_id == WEEKLY_PUBLISH_TASK,
                Instance.process_id == WEEKLY_PROCESS,
                between(a.at, period),
            )
        )
        or 0
    )


def dashboard(
    session: Session, period: Period, county: str | None = None, now: _dt.datetime | None = None
) -> Dashboard:
    """Every figure of the dashboard for the period and county (None: all counties).

    The caller has already limited ``county`` to what the person may see (``scoped_county``).
    """
    now = now or _dt.datetime.now(UTC)
    received_rows = received_groups(session, period, county)
    closed_rows = closed_groups(session, period, county)
    totals = {
        k: 0 for k in ("received", "accepted", "rejected", "withdrawn", "open", "overdue", "overdue_now", "escalated")
    }
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
    closed = {
        k: 0 for k in ("closed", "solved", "handled", "on_time", "reopened", "sat_good", "sat_answered", "wd_sum")
    }
    for row in closed_rows:
        for key in closed:
            closed[key] += int(getattr(row, key) or 0)
    coord = coordinations(session, period, county)
    totals.update(
        solved=closed["solved"],
        closed=closed["closed"],
        handled=closed["handled"],
        on_time=closed["on_time"],
        enterprises=distinct_enterprises(session, period, county),
        coordinations=sum(coord.values()),
        awaiting_intake=awaiting_intake(session, period, county),
    )
    rates = {
        "on_time": ratio(closed["on_time"], closed["handled"]),
        "satisfaction": ratio(closed["sat_good"], closed["sat_answered"]),
        "reopen": ratio(closed["reopened"], closed["handled"]),
        "workdays_to_close": round(closed["wd_sum"] / closed["solved"], 1) if closed["solved"] else None,
    }
    board = Dashboard(
        period,
        county,
        totals,
        dict(sorted(by_category.items(), key=lambda kv: -kv[1])),
        by_county,
        by_mode,
        dict(sorted(by_unit.items(), key=lambda kv: -kv[1])),
        rates,
        leader_modes,
        bulletin_counts(session, period, county),
        record_counts(session, period, county),
    )
    board.links = figure_links(period, county)
    return board


def figure_links(period: Period, county: str | None) -> dict[str, dict[str, str]]:
    """The cases-page arguments of every case figure (what a click on the figure lists)."""
    recv = {
        "received_from": period.start.isoformat() if period.start else "",
        "received_to": period.end.isoformat() if period.end else "",
        "rcounty": county or "",
    }
    recv = {k: v for k, v in recv.items() if v}
    clos = {
        "closed_from": period.start.isoformat() if period.start else "",
        "closed_to": period.end.isoformat() if period.end else "",
        "rcounty": county or "",
    }
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
