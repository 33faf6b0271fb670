"""Working days on the official Chinese calendar.

Public holidays and adjusted working weekends (调休) come from the maintained
``chinesecalendar`` package. Years it does not know yet are read from an admin-edited
data file (``processes/calendar.json``); a year in neither falls back to "Monday to
Friday, minus the holidays the ``holidays`` package estimates" and says so through
``WorkCalendar.fallback_years``, so the UI can show that those deadlines are provisional.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Iterable

import holidays as _holidays
from chinese_calendar.constants import holidays as _CC_HOLIDAYS
from chinese_calendar.constants import workdays as _CC_WORKDAYS

CHINA = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")
END_OF_DAY = _dt.time(17, 30)
_CC_YEARS = (min(_CC_HOLIDAYS).year, max(_CC_HOLIDAYS).year)  # the years chinese_calendar knows


class WorkCalendar:
    def __init__(self, overrides: dict[int, dict[str, Iterable[str]]] | None = None) -> None:
        self._holidays: set[_dt.date] = set()
        self._workdays: set[_dt.date] = set()
        self._override_years: set[int] = set()
        self.fallback_years: set[int] = set()
        self._estimated: dict[int, frozenset] = {}  # year -> the holidays package's estimate
        for year, spec in (overrides or {}).items():
            self._override_years.add(int(year))
            self._holidays.update(_dt.date.fromisoformat(d) for d in spec.get("holidays", []))
            self._workdays.update(_dt.date.fromisoformat(d) for d in spec.get("workdays", []))

    @classmethod
    def from_file(cls, path: str | Path | None) -> "WorkCalendar":
        if path is None or not Path(path).exists():
            return cls()
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls({int(k): v for k, v in data.get("years", {}).items()})

    def is_workday(self, day: _dt.date) -> bool:
        if day.year in self._override_years:
            if day in self._workdays:
                return True
            if day in self._holidays:
                return False
            return day.weekday() < 5
        if _CC_YEARS[0] <= day.year <= _CC_YEARS[1]:  # chinese_calendar.is_workday without its slow range check
            return day in _CC_WORKDAYS or (day.weekday() < 5 and day not in _CC_HOLIDAYS)
        self.fallback_years.add(day.year)
        estimated = self._estimated.get(day.year)
        if estimated is None:
            estimated = self._estimated[day.year] = frozenset(_holidays.China(years=day.year))
        return day.weekday() < 5 and day not in estimated

    def add_workdays(self, start: _dt.date, n: int) -> _dt.date:
        """The n-th working day after ``start`` (n = 0: start itself if a workday, else the next)."""
        day = start
        if n <= 0:
            while not self.is_workday(day):
                day += _dt.timedelta(days=1)
            return day
        remaining = n
        while remaining:
            day += _dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def sub_workdays(self, start: _dt.date, n: int) -> _dt.date:
        day = start
        remaining = n
        while remaining > 0:
            day -= _dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: _dt.date, end: _dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        count, day = 0, start
        while day < end:
            day += _dt.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


def to_china_date(value) -> _dt.date:
    """A date, datetime or ISO string, as the calendar date in China."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value) if "T" in value or " " in value else _dt.date.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(CHINA).date()
    return value


def end_of_workday(day: _dt.date) -> str:
    """ISO timestamp of the close of business (17:30 Beijing time) on ``day``."""
    return _dt.datetime.combine(day, END_OF_DAY, CHINA).isoformat()


MAX_HELPER_DAYS = 3660  # process expressions count at most this many (working) days


def _days(n) -> int:
    n = int(n)
    if abs(n) > MAX_HELPER_DAYS:
        raise ValueError(f"at most {MAX_HELPER_DAYS} working days")
    return n


def helpers(calendar: WorkCalendar, now) -> dict:
    """Functions exposed to process expressions; all take and return ISO strings. Their
    arguments are bounded so that they are cheap (the sandbox runs them without a time limit)."""

    def add_workdays(start, n):
        return end_of_workday(calendar.add_workdays(to_china_date(start), _days(n)))

    def workday_before(deadline, n=1):
        return end_of_workday(calendar.sub_workdays(to_china_date(deadline), _days(n)))

    def workdays_between(start, end):
        start, end = to_china_date(start), to_china_date(end)
        if (end - start).days > 2 * MAX_HELPER_DAYS:
            raise ValueError(f"at most {2 * MAX_HELPER_DAYS} days apart")
        return calendar.workdays_between(start, end)

    def is_workday(day):
        return calendar.is_workday(to_china_date(day))

    return {
        "add_workdays": add_workdays,
        "workday_before": workday_before,
        "workdays_between": workdays_between,
        "is_workday": is_workday,
        "now": lambda: now().isoformat(),
        "today": lambda: to_china_date(now()).isoformat(),
    }
