"""The statistics rollups (``stats_*`` tables) kept incrementally: what one case contributes to
them, and their concurrency-safe upserts (also the enterprise day/gap bookkeeping); the figure
constants they count by (``LEADER_MODES``, ``GOOD_SATISFACTION`` …).

The worker's fold (engine/stats/fold.py) knows what the rollups count of a case (its snapshot,
``Facts``) and what its case_record says now, and applies the difference (INSERT … ON CONFLICT
DO UPDATE SET n = n + excluded.n), at two grains: the day and its month. A figure for a period reads its
whole months at grain 'm' and the days at either end at grain 'd'; only "overdue now" reads
case_record (it depends on now). ``rebuild_rollups`` (engine/stats/rebuild.py) recomputes them.
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import Any, NamedTuple

from sqlalchemy import Executable, Table, delete, func, select
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from ..models import (
    Base,
    CaseRecord,
    StatsClosed,
    StatsEnterprise,
    StatsEnterpriseDay,
    StatsEnterpriseGap,
    StatsReceived,
    StatsReceivedDim,
    StatsUnit,
)
from ..workdays import CHINA

UTC = _dt.UTC
GOOD_SATISFACTION = ("满意", "基本满意")
ANSWERED_SATISFACTION = ("满意", "基本满意", "不满意")
LEADER_MODES = ("签批督办", "专题会议", "现场办公")
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

ROLLUP_TABLES = (
    StatsReceived,
    StatsReceivedDim,
    StatsClosed,
    StatsUnit,
    StatsEnterprise,
    StatsEnterpriseDay,
    StatsEnterpriseGap,
)


def china_day(value: _dt.datetime) -> _dt.date:
    if value.tzinfo is None:  # stored as UTC (UtcDateTime)
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA).date()


class Facts(NamedTuple):
    """What a case's contributions to the rollups depend on: taken from its case_record
    (``facts_of``) and kept as the fold's snapshot (``case_record.rollup_applied``, a JSON array
    in this order: ``to_json``/``from_json``; engine/stats/fold.py)."""

    received_day: _dt.date | None
    county: str | None
    lead_unit: str | None
    accepted: bool
    outcome: str | None
    is_open: bool
    ever_overdue: bool
    escalated: bool
    leader_mode: str | None
    category: str | None
    mode: str | None
    closed_day: _dt.date | None
    on_time: bool | None
    reopen_count: int
    satisfaction: str | None
    workdays_to_close: int | None
    uscc: str | None


def facts_of(r: CaseRecord) -> Facts:
    return Facts(
        china_day(r.received_at) if r.received_at is not None else None,
        r.county,
        r.lead_unit,
        r.accepted_at is not None,
        r.outcome,
        r.is_open is True,
        r.ever_overdue is True,
        r.escalated is True,
        r.leader_mode,
        r.category,
        r.mode,
        china_day(r.closed_at) if r.closed_at is not None else None,
        r.on_time,
        r.reopen_count or 0,
        r.satisfaction,
        r.workdays_to_close,
        r.uscc,
    )


def to_json(f: Facts) -> list[Any]:
    return [v.isoformat() if isinstance(v, _dt.date) else v for v in f]


def from_json(value: list[Any]) -> Facts:
    """A snapshot written by the fold (Python) or by ``rebuild_rollups`` (SQL: booleans may be 0/1)."""

    def day(v: Any) -> _dt.date | None:
        return _dt.date.fromisoformat(str(v)[:10]) if v else None

    def flag(v: Any) -> bool | None:
        return None if v is None else bool(v)

    (received, county, lead, accepted, outcome, is_open, overdue, escalated, lm, category, mode, closed, on_time,
     reopen, satisfaction, workdays, uscc) = value  # fmt: skip
    return Facts(
        day(received),
        county,
        lead,
        bool(accepted),
        outcome,
        bool(is_open),
        bool(overdue),
        bool(escalated),
        lm,
        category,
        mode,
        day(closed),
        flag(on_time),
        int(reopen or 0),
        satisfaction,
        None if workdays is None else int(workdays),
        uscc,
    )


def contributions(r: Facts | None) -> dict[tuple, dict[str, int]]:
    """What one case adds to the counter rollups: {(rollup, key): {counter: n}} (None: nothing)."""
    out: dict[tuple, dict[str, int]] = {}
    if r is None or r.received_day is None:
        return out
    county = r.county or NONE
    day = r.received_day
    out[("received", (day, county, r.lead_unit or NONE))] = {
        "received": 1,
        "accepted": int(r.accepted),
        "rejected": int(r.outcome == "rejected"),
        "withdrawn": int(r.outcome == "withdrawn"),
        "still_open": int(r.is_open),
        "overdue": int(r.ever_overdue),
        "escalated": int(r.escalated),
        **{column: int(r.leader_mode == mode) for mode, column in LM_COLUMNS.items()},
    }
    for dim in ("category", "mode"):
        value = getattr(r, dim)
        if value:
            out[("received_dim", (day, county, dim, value))] = {"received": 1}
    if r.closed_day is not None:
        handled = r.on_time is not None
        out[("closed", (r.closed_day, county, r.lead_unit or NONE))] = {
            "closed": 1,
            "solved": int(r.outcome == "solved"),
            "handled": int(handled),
            "on_time": int(r.on_time is True),
            "reopened": int(handled and r.reopen_count > 0),
            "sat_good": int(r.satisfaction in GOOD_SATISFACTION),
            "sat_answered": int(r.satisfaction in ANSWERED_SATISFACTION),
            "wd_sum": (r.workdays_to_close or 0) if r.outcome == "solved" else 0,
        }
    return out


def delta(before: dict, after: dict, *more: dict) -> dict[tuple, dict[str, int]]:
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


def apply_rollups(session: Session, delta: dict[tuple, dict[str, int]]) -> None:
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


def enterprise_key(r: Facts | None) -> EnterpriseKey | None:
    if r is None or r.uscc is None or r.received_day is None:
        return None
    return (r.county or NONE, r.uscc, r.received_day)


def move_enterprise(session: Session, before: EnterpriseKey | None, after: EnterpriseKey | None) -> None:
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
