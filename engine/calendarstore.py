"""The administrators' working-day calendar in the database (table ``work_calendar``, one
row): per year the holidays and adjusted working weekends (调休). Every process reads the
row's ``revision`` at each request or worker step (``WorkCalendar.sync``) and reloads the
years when it changed; edits are checked (``workdays.check_year``) and audited. The caller
owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import clock
from .errors import Conflict, InvalidRequest
from .models import AuditEntry, WorkCalendarData
from .workdays import CALENDAR_ROW, check_year, current

ROW_ID = CALENDAR_ROW


def stored_years(session: Session) -> dict[int, dict[str, list[str]]]:
    return current(session, None)[1]


def save_year(session: Session, year: int, holidays: list[str], workdays: list[str], actor: str) -> None:
    """Store one year's lists (replacing what was stored for it). ``InvalidRequest`` with the
    problems (``details["problems"]``: kind → [(index, code, value)]) when a date is wrong."""
    if not 2000 <= year <= 2100:
        raise InvalidRequest(f"{year} is not a year the calendar can hold", field="year")
    holidays, workdays = [d.strip() for d in holidays], [d.strip() for d in workdays]
    problems = check_year(year, holidays, workdays)
    if problems:
        raise InvalidRequest(
            "the calendar has wrong dates", problems={k: [p._asdict() for p in v] for k, v in problems.items()}
        )
    holidays, workdays = sorted(set(holidays)), sorted(set(workdays))
    row = _row(session, actor)
    before = (row.years or {}).get(str(year))
    row.years = {**(row.years or {}), str(year): {"holidays": holidays, "workdays": workdays}}
    _touch(session, row, actor, {"year": year, "before": before, "after": row.years[str(year)]})


def delete_year(session: Session, year: int, actor: str) -> bool:
    """Forget the stored lists of ``year`` (the package's data or the estimate applies again)."""
    row = session.get(WorkCalendarData, ROW_ID)
    if row is None or str(year) not in (row.years or {}):
        return False
    before = row.years[str(year)]
    row.years = {k: v for k, v in row.years.items() if k != str(year)}
    _touch(session, row, actor, {"year": year, "before": before, "after": None})
    return True


def _row(session: Session, actor: str) -> WorkCalendarData:
    row = session.get(WorkCalendarData, ROW_ID)
    if row is None:
        row = WorkCalendarData(id=ROW_ID, years={}, updated_by=actor)
        session.add(row)
    return row


def _touch(session: Session, row: WorkCalendarData, actor: str, data: dict[str, Any]) -> None:
    row.updated_at = clock.now()
    row.updated_by = actor
    session.add(AuditEntry(at=clock.now(), actor=actor, action="calendar", data=data))
    try:
        session.flush()  # the revision moves on (optimistic lock: of two admins at once, one Conflict)
    except StaleDataError:
        raise Conflict("the calendar was changed by someone else at the same time; reload and try again") from None
