"""``rebuild_rollups`` (``zhitongche stats-rebuild``): every rollup table recomputed from
case_record and case_unit with set-based SQL, the same figures the worker's fold keeps case by
case (engine/stats/fold.py).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import ColumnElement, Date, Table, and_, case, cast, delete, func, literal, select, text, update
from sqlalchemy.orm import Session

from ..models import (
    CaseRecord,
    CaseUnit,
    StatsClosed,
    StatsEnterprise,
    StatsEnterpriseDay,
    StatsEnterpriseGap,
    StatsReceived,
    StatsReceivedDim,
    StatsUnit,
)
from .rollups import (
    ALL_COUNTIES,
    ANSWERED_SATISFACTION,
    CLOSED_COUNTERS,
    FIRST_DAY,
    GOOD_SATISFACTION,
    LM_COLUMNS,
    NONE,
    RECEIVED_COUNTERS,
    ROLLUP_TABLES,
    table_of,
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


def snapshot_sql(session: Session) -> ColumnElement[Any]:
    """SQL: a record's ``Facts`` (engine/stats/rollups.py) as ``to_json`` writes them (dates as
    text; SQLite's booleans as 0/1, which ``from_json`` reads alike)."""
    r = table_of(CaseRecord).c
    values = [
        _sql_day(session, r.received_at),
        r.county,
        r.lead_unit,
        r.accepted_at.is_not(None),
        r.outcome,
        func.coalesce(r.is_open, False),
        func.coalesce(r.ever_overdue, False),
        func.coalesce(r.escalated, False),
        r.leader_mode,
        r.category,
        r.mode,
        _sql_day(session, r.closed_at),
        r.on_time,
        func.coalesce(r.reopen_count, 0),
        r.satisfaction,
        r.workdays_to_close,
        r.uscc,
    ]
    postgres = session.get_bind().dialect.name == "postgresql"
    return func.jsonb_build_array(*values) if postgres else func.json_array(*values)


def mark_applied(session: Session) -> None:
    """Every record's fold snapshot is what the rollups now count of it, every unit counted
    (engine/stats/fold.py): nothing is due after a rebuild."""
    session.execute(update(table_of(CaseRecord)).values(rollup_applied=snapshot_sql(session), rollup_due=False))
    u = table_of(CaseUnit)
    session.execute(update(u).where(u.c.counted == False).values(counted=True))  # noqa: E712


def rebuild_rollups(session: Session) -> dict[str, int]:
    """Recompute every rollup table from case_record and case_unit (for a database that had
    cases before the rollups existed, or to check them) and store every record's snapshot, so
    nothing is due to the fold after it. Set-based SQL, in the caller's transaction; returns the
    rows per table. Cases changing meanwhile and the worker's fold wait (PostgreSQL: case_record
    and case_unit are locked in EXCLUSIVE mode, the rollups in SHARE ROW EXCLUSIVE, until commit)."""
    if session.get_bind().dialect.name == "postgresql":
        # the records first, exclusively: a fold (FOR UPDATE) waits for the rebuild, or it for the fold
        names = ", ".join(m.__tablename__ for m in ROLLUP_TABLES)
        session.execute(text("LOCK TABLE case_record, case_unit IN EXCLUSIVE MODE"))
        session.execute(text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))
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
    mark_applied(session)  # the fold's snapshots: what the rollups now count of every case (engine/stats/fold.py)
    session.flush()
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m.__table__)) or 0 for m in ROLLUP_TABLES}
