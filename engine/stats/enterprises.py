"""The 沟通企业 drill-down: the distinct enterprises behind the cases received in a period (the
dashboard's "enterprises contacted" figure counts the same set from the rollups)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import CaseRecord
from .periods import CaseFilter, Period


@dataclass
class EnterpriseRow:
    uscc: str
    name: str | None
    cases: int
    first_received: _dt.datetime | None
    last_received: _dt.datetime | None


def enterprises(
    session: Session, period: Period, county: str | None, *, now: _dt.datetime, offset: int = 0, limit: int = 50
) -> tuple[list[EnterpriseRow], int]:
    """One row per enterprise (by unified social credit code) with cases received in the period,
    most cases first; and how many enterprises there are in all."""
    received = period if (period.start or period.end) else None
    where = CaseFilter(received=received, county=county).clauses(now) + [CaseRecord.uscc.is_not(None)]
    total = session.scalar(select(func.count(func.distinct(CaseRecord.uscc))).where(*where)) or 0
    n = func.count().label("n")
    stmt = (
        select(
            CaseRecord.uscc,
            func.max(CaseRecord.enterprise_name),
            n,
            func.min(CaseRecord.received_at),
            func.max(CaseRecord.received_at),
        )
        .where(*where)
        .group_by(CaseRecord.uscc)
        .order_by(n.desc(), CaseRecord.uscc)
        .offset(offset)
        .limit(limit)
    )
    # uscc is never NULL here (the WHERE clause)
    rows = [
        EnterpriseRow(cast(str, uscc), name, int(count), first, last)
        for uscc, name, count, first, last in session.execute(stmt)
    ]
    return rows, int(total)
