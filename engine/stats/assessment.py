"""The unit assessment (考核) and the rows of the case-list workbook."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CaseRecord, Instance
from ..names import Directory
from ..workdays import CHINA
from .periods import Period
from .queries import closed_groups, coordinations, ratio, received_groups
from .rollups import UTC


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
        return ratio(self.on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return ratio(self.sat_good, self.sat_answered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "unit": self.unit,
            "received": self.received,
            "closed": self.closed,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "sat_good": self.sat_good,
            "sat_answered": self.sat_answered,
            "satisfaction_rate": self.satisfaction_rate,
            "overdue": self.overdue,
            "coordinations": self.coordinations,
        }


def assessment(
    session: Session, period: Period, county: str | None = None, now: _dt.datetime | None = None
) -> list[UnitScore]:
    """Units ranked by on-time rate (high first), then satisfaction rate (high first), then
    overdue count (low first); units with nothing closed in the period come last. Units equal on
    all of these share a rank and the next rank skips (1, 1, 3); ties are listed by unit code."""
    now = now or _dt.datetime.now(UTC)
    scores: dict[str, UnitScore] = {}

    def score(unit: str) -> UnitScore:
        return scores.setdefault(unit, UnitScore(unit))

    for row in received_groups(session, period, county):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.received += int(row.received or 0)
            s.overdue += int(row.overdue or 0)
    for row in closed_groups(session, period, county):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.closed += int(row.handled or 0)
            s.on_time += int(row.on_time or 0)
            s.sat_good += int(row.sat_good or 0)
            s.sat_answered += int(row.sat_answered or 0)
    for unit, n in coordinations(session, period, county).items():
        score(unit).coordinations += n

    return rank(scores.values())


def rank(scores: Iterable[UnitScore]) -> list[UnitScore]:
    """Sort and rank with competition ranking ("1224"): units equal on on-time rate, satisfaction
    rate and overdue count share a rank and the next rank skips as many places."""

    def merit(s: UnitScore) -> tuple[bool, float, float, int]:
        return (s.on_time_rate is None, -(s.on_time_rate or 0), -(s.satisfaction_rate or 0), s.overdue)

    ranked = sorted(scores, key=lambda s: (merit(s), s.unit))
    for i, s in enumerate(ranked, start=1):
        s.rank = ranked[i - 2].rank if i > 1 and merit(ranked[i - 2]) == merit(s) else i
    return ranked


def export_rows(session: Session, instances: list[Instance], names: Directory) -> list[dict[str, Any]]:
    """Rows of the case-list workbook for the given cases (in their order)."""
    ids = [i.id for i in instances]
    records = {
        r.instance_id: r for r in session.scalars(select(CaseRecord).where(CaseRecord.instance_id.in_(ids or [-1])))
    }

    def when(value: Any) -> Any:  # a datetime: the workbook writes it as a date cell in Beijing time
        if isinstance(value, str):
            try:
                value = _dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        return value.astimezone(CHINA) if value else None

    rows: list[dict[str, Any]] = []
    for inst in instances:
        s = inst.summary or {}
        r = records.get(inst.id)
        rows.append(
            {
                "case_no": s.get("case_no") or inst.business_key,
                "enterprise": s.get("enterprise_name"),
                "uscc": s.get("uscc"),
                "title": s.get("title"),
                "category": s.get("category"),
                "county": names.county_name(s.get("county")),
                "level": {"city": "市级", "county": "县级"}.get(s.get("level") or ""),
                "urgency": s.get("urgency"),
                "mode": s.get("mode"),
                "lead_unit": names.unit_name(s.get("lead_unit")),
                "coop_units": "、".join(names.unit_name(u) for u in (s.get("coop_units") or [])),
                "status": s.get("status"),
                "outcome": s.get("outcome"),
                "received_at": when(r.received_at) if r else when(inst.created_at),
                "closed_at": when(r.closed_at) if r else when(inst.ended_at),
                "deadline": when(r.deadline if r else s.get("deadline")),
                "ever_overdue": ("是" if r.ever_overdue else "否") if r else None,
                "leader_mode": s.get("leader_mode"),
                "satisfaction": s.get("satisfaction"),
                "reopen_count": s.get("reopen_count"),
                "workdays_to_close": r.workdays_to_close if r else None,
            }
        )
    return rows
