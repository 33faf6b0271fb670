"""Provisional deadlines are marked (issue 13, item 6): a deadline computed over a year the
official calendar does not cover yet is stored as provisional (task row and case summary);
the administrators' calendar lives in the database and reaches every process at its next
step, without a restart; a mistake in the holiday file names the file and line."""

from __future__ import annotations

import datetime as _dt
import json

import pytest
from sqlalchemy import select

from engine import calendarstore
from engine.errors import Conflict, InvalidRequest
from engine.models import AuditEntry
from engine.workdays import CalendarFileError, WorkCalendar
from tests.scenarios.driver import beijing, project_files, submit

D = _dt.date.fromisoformat
# a plausible 2027 arrangement (NOT the official one: the State Council had not published it)
Y2027 = {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "workdays": ["2027-02-06"]}


def test_a_deadline_over_a_year_without_official_data_is_provisional():
    calendar = WorkCalendar()  # chinesecalendar knows up to 2026; processes/calendar.json ships empty
    assert calendar.source(2026) == "package" and calendar.source(2027) == "estimate"
    assert calendar.provisional(D("2026-03-02"), D("2026-03-20")) is False
    assert calendar.provisional(D("2026-12-31"), D("2027-01-04")) is True
    assert calendar.missing_years(D("2026-12-05")) == [2027]
    official = WorkCalendar({2027: Y2027, 2028: {"holidays": [], "workdays": []}})
    assert official.provisional(D("2026-12-31"), D("2027-01-04")) is False
    assert official.missing_years(D("2026-12-05")) == []
    assert official.is_workday(D("2027-02-06"))  # an adjusted working Saturday (调休), unknown to the estimate
    assert not calendar.is_workday(D("2027-02-06"))


def test_the_case_marks_a_deadline_computed_over_2027(Session, engine, clock, deploy):
    deploy(project_files())
    clock.set(beijing("2026-12-31", "09:00"))
    case = submit(Session, engine, clock, county="city", category="土地批复")
    intake = case.task("受理审查", "wg:city")  # due the next working day: 2027-01-04 (estimated)
    assert intake.due_provisional is True
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"})
    case.complete(
        "分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "mode": "快速办", "coop_units": []}
    )
    assert case.summary["deadline"].startswith("2027-") and case.summary["deadline_provisional"] is True
    assert case.task("拟办办理结果", "unit:zrzyj").due_provisional is True


def test_a_deadline_inside_an_official_year_is_not_provisional(Session, engine, clock, deploy):
    deploy(project_files())
    case = submit(Session, engine, clock, county="city", category="土地批复")  # 2026-03-02
    assert case.task("受理审查", "wg:city").due_provisional is False
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"})
    case.complete("分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "mode": "快速办"})
    assert case.summary["deadline_provisional"] is False


def test_an_admin_edit_reaches_every_process_at_its_next_step(Session):
    web, worker = WorkCalendar(), WorkCalendar()  # two processes, each with its own calendar object
    for calendar in (web, worker):
        with Session() as s:
            calendar.sync(s)
        assert not calendar.is_workday(D("2027-02-06"))
    before = web.workdays_between(D("2027-02-01"), D("2027-02-10"))  # counts are kept per year…
    with Session.begin() as s:
        calendarstore.save_year(s, 2027, Y2027["holidays"], Y2027["workdays"], "admin")
    for calendar in (web, worker):
        with Session() as s:
            calendar.sync(s)
        assert calendar.is_workday(D("2027-02-06")) and calendar.source(2027) == "database"
        # …and follow the edit: the same span counted day by day under the new calendar
        by_day = sum(calendar.is_workday(D("2027-02-01") + _dt.timedelta(days=i)) for i in range(1, 10))
        assert calendar.workdays_between(D("2027-02-01"), D("2027-02-10")) == by_day != before
        assert calendar.provisional(D("2026-12-31"), D("2027-01-04")) is False
    with Session.begin() as s:
        assert calendarstore.delete_year(s, 2027, "admin")
    with Session() as s:
        worker.sync(s)
    assert worker.source(2027) == "estimate" and not worker.is_workday(D("2027-02-06"))
    with Session() as s:
        actions = [(a.actor, a.action, a.data["year"]) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [("admin", "calendar", 2027), ("admin", "calendar", 2027)]


def test_wrong_dates_are_refused_with_their_position(Session):
    with Session.begin() as s, pytest.raises(InvalidRequest) as refused:
        calendarstore.save_year(s, 2027, ["2027-01-01", "2027-02-30", "2026-10-01"], ["2027-02-08"], "admin")
    problems = refused.value.details["problems"]
    assert [(p["value"], p["code"]) for p in problems["holidays"]] == [
        ("2027-02-30", "not_a_date"),
        ("2026-10-01", "wrong_year"),
    ]
    assert [(p["value"], p["code"]) for p in problems["workdays"]] == [("2027-02-08", "not_weekend")]
    with Session() as s:
        assert calendarstore.stored_years(s) == {}  # nothing half-saved


def test_two_admins_saving_at_once_one_is_told(Session):
    from engine.models import WorkCalendarData

    with Session.begin() as s:
        calendarstore.save_year(s, 2027, Y2027["holidays"], [], "admin")
    late = Session()
    try:
        seen = late.get(WorkCalendarData, 1)  # read at revision 1 (kept: no expiry on commit) ...
        assert seen.revision == 1
        late.commit()
        with Session.begin() as s:  # ... while another admin saves (revision 2)
            calendarstore.save_year(s, 2027, Y2027["holidays"], Y2027["workdays"], "admin")
        with pytest.raises(Conflict):
            calendarstore.save_year(late, 2028, ["2028-01-01"], [], "admin2")
    finally:
        late.rollback()
        late.close()
    with Session() as s:
        assert calendarstore.stored_years(s) == {2027: Y2027}


@pytest.mark.parametrize(
    "text, line, words",
    [
        (
            '{\n  "years": {\n    "2027": {\n      "holidays": ["2027-01-01",\n                   "2027-13-01"]\n    }\n  }\n}\n',
            5,
            "'2027-13-01' is not a date",
        ),
        (
            '{\n  "years": {\n    "2027": {"holidays": ["2027-01-01"], "workdays": ["2027-02-08"]}\n  }\n}\n',
            3,
            "only weekends",
        ),
        ('{\n  "years": {\n    "2027": {"holidays": ["2027-01-01",]}\n  }\n}\n', 3, "not valid JSON"),
        ('{\n  "years": {\n    "27": {"holidays": []}\n  }\n}\n', 3, "must be a year"),
    ],
)
def test_a_typo_in_the_holiday_file_names_the_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "calendar.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError) as bad:
        WorkCalendar.from_file(path)
    assert str(bad.value).startswith(f"{path} line {line}") and words in str(bad.value), str(bad.value)


def test_the_cli_reports_a_bad_holiday_file_without_a_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from webapp.cli import main

    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"years": {"2027": {"holidays": ["2027-02-30"]}}}, indent=2), encoding="utf-8")
    monkeypatch.setenv("ZHITONGCHE_CALENDAR_FILE", str(path))
    monkeypatch.setenv("ZHITONGCHE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: {path} line 5: 2027.holidays: '2027-02-30' is not a date" in result.output, result.output


def test_working_days_between_two_dates_in_different_years():
    """Counted from per-year running counts; the same as counting day by day, across years and
    over a span of several years (an inbox row's "days left" for an old deadline)."""
    calendar = WorkCalendar()
    start = D("2024-12-20")
    for days in (0, 1, 5, 12, 13, 40, 400, 1200):
        end = start + _dt.timedelta(days=days)
        by_day = sum(calendar.is_workday(start + _dt.timedelta(days=i)) for i in range(1, days + 1))
        assert calendar.workdays_between(start, end) == by_day, end
    assert calendar.workdays_between(D("2026-10-08"), D("2026-10-01")) == 0
