"""Working days on the official Chinese calendar.

Public holidays and adjusted working weekends (调休) come from the maintained
``chinesecalendar`` package. Years it does not know yet come from the administrators: the
calendar page (stored in the database, table ``work_calendar``, read again by every process
when its revision changes: ``WorkCalendar.sync``) or the data file ``processes/calendar.json``
(checked line by line: ``CalendarFileError`` names the file and line). A year in none of
them falls back to "Monday to Friday, minus the holidays the ``holidays`` package
estimates" — an estimate without 调休: a deadline computed over such a year is
*provisional* (``WorkCalendar.provisional``; shown as 临时时限).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import chinese_calendar
import holidays as _holidays
from chinese_calendar.constants import holidays as _CC_HOLIDAYS
from chinese_calendar.constants import workdays as _CC_WORKDAYS
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import WorkCalendarData

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DateLike = _dt.date | str  # a date, a datetime (a date too) or an ISO string

CHINA = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")
END_OF_DAY = _dt.time(17, 30)
# the years the installed chinesecalendar package has official data for
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
KINDS = ("holidays", "workdays")
CALENDAR_ROW = 1  # the one row of ``work_calendar``


class DateProblem(NamedTuple):
    """One wrong entry of a year's list: its position (0-based), what is wrong, the value."""

    index: int  # type: ignore[assignment]  # (a field named like tuple.index)
    code: str  # not_a_date | wrong_year | in_both | not_weekend
    value: str


def check_year(year: int, holidays: list[str], workdays: list[str]) -> dict[str, list[DateProblem]]:
    """The problems of one year's lists (empty when both are right): every entry a date
    YYYY-MM-DD of ``year``; no day both a holiday and a working day; working days only on
    a weekend (a weekday is a working day anyway)."""
    problems: dict[str, list[DateProblem]] = {}
    parsed: dict[str, set] = {}
    for kind, values in (("holidays", holidays), ("workdays", workdays)):
        days = set()
        for i, value in enumerate(values):
            try:
                day = _dt.date.fromisoformat(str(value).strip())
                if len(str(value).strip()) != 10:
                    raise ValueError
            except ValueError:
                problems.setdefault(kind, []).append(DateProblem(i, "not_a_date", str(value)))
                continue
            if day.year != year:
                problems.setdefault(kind, []).append(DateProblem(i, "wrong_year", str(value)))
            elif kind == "workdays" and day.weekday() < 5:
                problems.setdefault(kind, []).append(DateProblem(i, "not_weekend", str(value)))
            elif kind == "workdays" and day in parsed["holidays"]:
                problems.setdefault(kind, []).append(DateProblem(i, "in_both", str(value)))
            days.add(day)
        parsed[kind] = days
    return problems


PROBLEM_TEXT = {
    "not_a_date": "'{value}' is not a date YYYY-MM-DD",
    "wrong_year": "'{value}' is not in {year}",
    "not_weekend": "'{value}' is a weekday: only weekends can be adjusted working days",
    "in_both": "'{value}' is both a holiday and a working day",
}


class CalendarFileError(ValueError):
    """The holiday file is not right; the message names the file and line."""


def _line_of(text: str, needle: str, start: int = 0) -> int:
    at = text.find(needle, start)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def read_calendar_file(path: str | Path) -> dict[int, dict[str, list[str]]]:
    """The years of a calendar file, checked: ``CalendarFileError("path line N: …")``."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarFileError(f"{path} line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    years = data.get("years", {}) if isinstance(data, dict) else None
    if not isinstance(years, dict):
        line = _line_of(text, '"years"')
        raise CalendarFileError(
            f'{path} line {line}: "years" must be an object {{"2027": {{"holidays": [...], "workdays": [...]}}}}'
        )
    out: dict[int, dict[str, list[str]]] = {}
    for key, spec in years.items():
        quoted = '"' + str(key) + '"'
        at = text.find(quoted)
        if not (str(key).isdigit() and len(str(key)) == 4) or not isinstance(spec, dict):
            raise CalendarFileError(
                f"{path} line {_line_of(text, quoted)}: '{key}' must be a year (2027) "
                'with {"holidays": [...], "workdays": [...]}'
            )
        lists = {kind: spec.get(kind, []) for kind in KINDS}
        for kind, values in lists.items():
            if not isinstance(values, list):
                line = _line_of(text, '"' + kind + '"', at)
                raise CalendarFileError(f"{path} line {line}: {key}.{kind} must be a list of dates")
        for kind, found in check_year(int(key), lists["holidays"], lists["workdays"]).items():
            problem = found[0]
            line = _line_of(text, '"' + problem.value + '"', text.find('"' + kind + '"', at))
            raise CalendarFileError(
                f"{path} line {line}: {key}.{kind}: " + PROBLEM_TEXT[problem.code].format(value=problem.value, year=key)
            )
        out[int(key)] = {kind: [str(v).strip() for v in lists[kind]] for kind in KINDS}
    return out


def current(session: Session, known: int | None) -> tuple[int | None, dict[int, dict[str, list[str]]]]:
    """(revision, years) of the administrators' calendar stored in the database (engine/calendarstore.py
    edits it); the years are read only when the revision is not ``known`` (None, {} when nothing
    was ever stored)."""
    revision = session.scalar(select(WorkCalendarData.revision).where(WorkCalendarData.id == CALENDAR_ROW))
    if revision is None or revision == known:
        return revision, {}
    years = session.scalar(select(WorkCalendarData.years).where(WorkCalendarData.id == CALENDAR_ROW)) or {}
    return revision, {int(y): {k: list(v.get(k, [])) for k in KINDS} for y, v in years.items()}


class _Days(NamedTuple):
    years: frozenset
    holidays: frozenset
    workdays: frozenset
    sources: dict
    counts: dict  # year -> running count of working days by day of the year (filled on use)


class WorkCalendar:
    def __init__(self, overrides: Mapping[int, Mapping[str, Iterable[str]]] | None = None) -> None:
        self._file_years = {int(y): {k: list(v.get(k, [])) for k in KINDS} for y, v in (overrides or {}).items()}
        self._revision: int | None = None  # of the database calendar last loaded (None: none)
        self.fallback_years: set[int] = set()
        self._estimated: dict[int, frozenset] = {}  # year -> the holidays package's estimate
        self._apply({})

    def _apply(self, db_years: dict[int, dict[str, list[str]]]) -> None:
        merged = {**self._file_years, **db_years}
        holidays = {_dt.date.fromisoformat(d) for spec in merged.values() for d in spec.get("holidays", [])}
        workdays = {_dt.date.fromisoformat(d) for spec in merged.values() for d in spec.get("workdays", [])}
        sources = {**{y: "file" for y in self._file_years}, **{y: "database" for y in db_years}}
        self._days = _Days(frozenset(merged), frozenset(holidays), frozenset(workdays), sources, {})  # one swap

    @classmethod
    def from_file(cls, path: str | Path | None) -> WorkCalendar:
        if path is None or not Path(path).exists():
            return cls()
        return cls(read_calendar_file(path))

    @property
    def revision(self) -> int | None:
        """Of the database calendar last loaded: script processes get the calendar again when it changes."""
        return self._revision

    # -- the administrators' calendar in the database -----------------------------------
    def sync(self, session: Session) -> None:
        """Reload the database calendar if it changed since this process last read it (one
        small query; call it at the start of every request / worker step)."""
        revision, years = current(session, self._revision)
        if revision != self._revision:
            self._apply(years)
            self._revision = revision

    def source(self, year: int) -> str:
        """database | file | package | estimate: where the year's working days come from."""
        days = self._days
        if year in days.years:
            return days.sources.get(year, "file")
        return "package" if year in PACKAGE_YEARS else "estimate"

    def is_official(self, year: int) -> bool:
        return self.source(year) != "estimate"

    def provisional(self, start: DateLike | None, end: DateLike | None) -> bool:
        """Whether a deadline ``end`` computed from ``start`` crosses a year without an official
        calendar (its working days are an estimate)."""
        if not start or not end:
            return False
        a, b = sorted((to_china_date(start), to_china_date(end)))
        return any(not self.is_official(year) for year in range(a.year, b.year + 1))

    def missing_years(self, today: DateLike) -> list[int]:
        """This year and the next, when either has no official calendar (a warning)."""
        year = to_china_date(today).year
        return [y for y in (year, year + 1) if not self.is_official(y)]

    def year_lists(self, year: int) -> dict[str, list[str]]:
        """The holidays and adjusted working days the calendar uses for ``year``."""
        days = self._days
        if year in days.years:
            return {
                "holidays": sorted(d.isoformat() for d in days.holidays if d.year == year),
                "workdays": sorted(d.isoformat() for d in days.workdays if d.year == year),
            }
        if year in PACKAGE_YEARS:
            return {
                "holidays": sorted(d.isoformat() for d in chinese_calendar.holidays if d.year == year),
                "workdays": sorted(d.isoformat() for d in chinese_calendar.workdays if d.year == year),
            }
        return {"holidays": sorted(d.isoformat() for d in _holidays.China(years=year)), "workdays": []}

    # -- working days ----------------------------------------------------------------------
    def is_workday(self, day: _dt.date) -> bool:
        days = self._days
        if day.year in days.years:
            if day in days.workdays:
                return True
            if day in days.holidays:
                return False
            return day.weekday() < 5
        if day.year in PACKAGE_YEARS:  # chinese_calendar.is_workday without its slow range check
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
        """Working days after ``start`` up to and including ``end`` (0 if end <= start).

        Read from per-year running counts (an inbox row asks this for every task: counting day by
        day cost ~2 ms for a deadline two years away)."""
        if end <= start:
            return 0
        if start.year == end.year:
            counts = self._year_counts(start.year)
            return counts[end.timetuple().tm_yday] - counts[start.timetuple().tm_yday]
        first, last = self._year_counts(start.year), self._year_counts(end.year)
        middle = sum(self._year_counts(year)[-1] for year in range(start.year + 1, end.year))
        return first[-1] - first[start.timetuple().tm_yday] + middle + last[end.timetuple().tm_yday]

    def _year_counts(self, year: int) -> list[int]:
        """``counts[n]``: working days among the first n days of ``year`` (``counts[-1]``: all)."""
        days = self._days
        counts = days.counts.get(year)
        if counts is None:
            counts, day, total = [0], _dt.date(year, 1, 1), 0
            while day.year == year:
                total += self.is_workday(day)
                counts.append(total)
                day += _dt.timedelta(days=1)
            days.counts[year] = counts  # with the days it was counted from (swapped together)
        return counts


def to_china_date(value: DateLike) -> _dt.date:
    """A date, datetime or ISO string, as the calendar date in China."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value) if "T" in value or " " in value else _dt.date.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(CHINA).date()
    return value


def end_of_workday(day: _dt.date) -> str:
    """ISO timestamp of the close of business (17:30 Beijing time) on ``day``."""
    return _dt.datetime.combine(day, END_OF_DAY, CHINA).isoformat()


MAX_HELPER_DAYS = 3660  # process expressions count at most this many (working) days


def _days(n: Any) -> int:
    n = int(n)
    if abs(n) > MAX_HELPER_DAYS:
        raise ValueError(f"at most {MAX_HELPER_DAYS} working days")
    return n


def helpers(calendar: WorkCalendar, now: Callable[[], _dt.datetime]) -> dict[str, Callable[..., Any]]:
    """Functions exposed to process expressions; all take and return ISO strings. Their
    arguments are bounded so that they are cheap (the sandbox runs them without a time limit)."""

    def add_workdays(start: DateLike, n: Any) -> str:
        return end_of_workday(calendar.add_workdays(to_china_date(start), _days(n)))

    def workday_before(deadline: DateLike, n: Any = 1) -> str:
        return end_of_workday(calendar.sub_workdays(to_china_date(deadline), _days(n)))

    def workdays_between(start: DateLike, end: DateLike) -> int:
        first, last = to_china_date(start), to_china_date(end)
        if (last - first).days > 2 * MAX_HELPER_DAYS:
            raise ValueError(f"at most {2 * MAX_HELPER_DAYS} days apart")
        return calendar.workdays_between(first, last)

    def is_workday(day: DateLike) -> bool:
        return calendar.is_workday(to_china_date(day))

    return {
        "add_workdays": add_workdays,
        "workday_before": workday_before,
        "workdays_between": workdays_between,
        "is_workday": is_workday,
        "now": lambda: now().isoformat(),
        "today": lambda: to_china_date(now()).isoformat(),
    }
