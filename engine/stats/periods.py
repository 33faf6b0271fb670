"""Periods and the case filters behind every figure: a period's bounds on a column, the
filter a figure's link opens in the case list (``CaseFilter``) and its query arguments."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, literal, select

from ..errors import InvalidRequest
from ..models import CaseRecord, CaseUnit
from ..workdays import CHINA
from .rollups import ANSWERED_SATISFACTION, GOOD_SATISFACTION, UTC

RECORD_KINDS = {"research_visit": "调研", "park_file": "重点产业园档案"}
BULLETIN_SERIES = {  # the standard 专报 series (engine/bulletins.py numbers their issues)
    "ztc": "书记市长直通车专报",
    "key_project": "重点项目建设情况专报",
    "six_batches": "项目建设“六个一批”进展情况通报",
}


# -- filters -------------------------------------------------------------------------------
@dataclass
class Period:
    start: _dt.date | None = None
    end: _dt.date | None = None  # inclusive

    def bounds(self) -> tuple[_dt.datetime | None, _dt.datetime | None]:
        lo = _dt.datetime.combine(self.start, _dt.time(), CHINA).astimezone(UTC) if self.start else None
        hi = (
            _dt.datetime.combine(self.end + _dt.timedelta(days=1), _dt.time(), CHINA).astimezone(UTC)
            if self.end
            else None
        )
        return lo, hi

    def args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        return out


def between(column: SQLColumnExpression[Any], period: Period) -> ColumnElement[bool]:
    lo, hi = period.bounds()
    clauses: list[ColumnElement[bool]] = []
    if lo is not None:
        clauses.append(column >= lo)
    if hi is not None:
        clauses.append(column < hi)
    return and_(*clauses) if clauses else literal(True)


def day_between(column: SQLColumnExpression[Any], period: Period) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if period.start:
        clauses.append(column >= period.start)
    if period.end:
        clauses.append(column <= period.end)
    return and_(*clauses) if clauses else literal(True)


EARLIEST_DAY = _dt.date(2000, 1, 1)  # periods are range-checked: no date arithmetic overflows
LATEST_DAY = _dt.date(2100, 12, 31)


def parse_day(value: str | None) -> _dt.date | None:
    """A period's day from a URL: None when absent or not a date; ``InvalidRequest`` when it
    is a date outside 2000–2100."""
    try:
        day = _dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidRequest(f"dates must lie between {EARLIEST_DAY} and {LATEST_DAY}", field="date")
    return day


def parse_period(start: str | None, end: str | None) -> Period:
    return Period(parse_day(start), parse_day(end))


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

    ARGS = (
        "received_from",
        "received_to",
        "closed_from",
        "closed_to",
        "rcounty",
        "rcategory",
        "mode",
        "lead_unit",
        "unit",
        "outcome",
        "state",
        "accepted",
        "ever_overdue",
        "overdue_now",
        "handled",
        "on_time",
        "leader_mode",
        "satisfaction",
        "reopened",
        "escalated",
    )

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CaseFilter | None:
        """From URL arguments; None when none of them is present."""
        if not any(args.get(k) for k in cls.ARGS):
            return None

        def day(name: str) -> _dt.date | None:
            return parse_day(args.get(name))

        def period(prefix: str) -> Period | None:
            start, end = day(prefix + "_from"), day(prefix + "_to")
            return Period(start, end) if (start or end) else None

        state = args.get("state") or ""
        on_time = args.get("on_time") or ""
        return cls(
            received=period("received"),
            closed=period("closed"),
            county=args.get("rcounty") or None,
            category=args.get("rcategory") or None,
            mode=args.get("mode") or None,
            lead_unit=args.get("lead_unit") or None,
            unit=args.get("unit") or None,
            outcome=args.get("outcome") or None,
            open={"open": True, "closed": False}.get(state),
            accepted=args.get("accepted") == "1",
            ever_overdue=args.get("ever_overdue") == "1",
            overdue_now=args.get("overdue_now") == "1",
            handled=args.get("handled") == "1",
            on_time={"1": True, "0": False}.get(on_time),
            leader_mode=args.get("leader_mode") or None,
            satisfaction=args.get("satisfaction") or None,
            reopened=args.get("reopened") == "1",
            escalated=args.get("escalated") == "1",
        )

    def clauses(self, now: _dt.datetime) -> list[ColumnElement[bool]]:
        r = CaseRecord
        out: list[ColumnElement[bool]] = []
        if self.received:
            out.append(between(r.received_at, self.received))
        if self.closed:
            out.append(between(r.closed_at, self.closed))
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


# -- who sees statistics (the rules are engine/access.py's) --------------------------------
