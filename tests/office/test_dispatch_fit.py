"""Dispatch that fits a city (issue 19, item 5): the unit pickers list the case's county first,
grouped by county (the plain form, without script, posts as before); a cooperating unit's
deadline is never earlier than its creation plus one working day — a dispatch that would make
it so is refused with a message on the deadline field."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from engine import forms, workdays
from engine.names import load_directory
from tests.scenarios.driver import beijing
from webapp import formrender

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "forms" / "dispatch.schema.json").read_text(encoding="utf-8"))
UI = json.loads((ROOT / "forms" / "dispatch.uischema.json").read_text(encoding="utf-8"))
DIRECTORY = load_directory(ROOT / "processes" / "directory.json")
CHOICES = {"units": list(DIRECTORY.units.items()), "counties": list(DIRECTORY.counties.items())}
WITH_COOP = {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": ["fgw"], "mode": "马上办"}


def test_the_pickers_list_the_cases_county_first_grouped_by_county():
    html = formrender.Renderer(SCHEMA, UI, choices=CHOICES, county="jianping").render(
        {"lead_unit": "jianping.zrzyj", "coop_units": ["kazuo.fgw"]}
    )
    lead = re.search(r'<select[^>]*id="f-lead_unit".*?</select>', html, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)"', lead)
    assert groups[:2] == ["建平县", "朝阳市"] and len(groups) == 8
    assert len(re.findall(r"<option value=\"[^\"]", lead)) == 80
    assert re.search(r'<optgroup label="建平县"><option value="jianping.zrzyj" selected>', lead)
    coop = re.search(r'<fieldset[^>]*id="f-coop_units".*?</fieldset>', html, re.S).group(0)
    details = re.findall(r'<details class="unit-group" data-county="(\w+)"( open)?>', coop)
    # the case's county and the city open; another county only when one of its units is ticked
    assert details[:2] == [("jianping", " open"), ("city", " open")]
    assert ("kazuo", " open") in details and ("beipiao", "") in details
    assert len(re.findall(r'type="checkbox" name="coop_units"', coop)) == 80
    ids = re.findall(r'id="(f-coop_units-\d+)"', coop)
    assert len(set(ids)) == 80  # every box its own id
    # a city case: the city's units first
    city = formrender.Renderer(SCHEMA, UI, choices=CHOICES, county="city").render({})
    assert re.findall(r'<optgroup label="([^"]+)"', city)[0] == "朝阳市"


def test_a_short_choice_list_stays_plain():
    schema = {"type": "object", "properties": {"unit": {"type": "string", "enum": ["zrzyj", "fgw"]}}}
    html = formrender.Renderer(schema, {}, choices=CHOICES, county="jianping").render({})
    assert "optgroup" not in html and "data-unit-picker" not in html


def test_the_plain_form_posts_as_before():
    form = MultiDict(
        [
            ("dispatch_action", "dispatch"),
            ("lead_unit", "jianping.zrzyj"),
            ("coop_units", "fgw"),
            ("coop_units", "jianping.gdgs"),
            ("mode", "快速办"),
        ]
    )
    assert formrender.parse(SCHEMA, UI, form) == {
        "dispatch_action": "dispatch",
        "lead_unit": "jianping.zrzyj",
        "coop_units": ["fgw", "jianping.gdgs"],
        "mode": "快速办",
    }


def test_a_one_day_deadline_with_cooperating_units_is_refused_on_its_field():
    with pytest.raises(forms.FormValidationError) as refused:
        forms.validate(SCHEMA, {**WITH_COOP, "deadline_days_override": 1})
    errors = refused.value.by_field("zh")
    assert list(errors) == ["deadline_days_override"]
    assert "有配合单位时办理时限至少2个工作日" in errors["deadline_days_override"]
    assert "at least 2 working days" in refused.value.by_field("en")["deadline_days_override"]
    # without cooperating units, or not dispatching, one day is allowed; two days always are
    forms.validate(SCHEMA, {**WITH_COOP, "coop_units": [], "deadline_days_override": 1})
    forms.validate(SCHEMA, {**WITH_COOP, "dispatch_action": "to_leaders", "deadline_days_override": 1})
    forms.validate(SCHEMA, {**WITH_COOP, "deadline_days_override": 2})
    # the generic messages are untouched
    with pytest.raises(forms.FormValidationError) as zero:
        forms.validate(SCHEMA, {**WITH_COOP, "coop_units": [], "deadline_days_override": 0})
    assert zero.value.by_field("zh") == {"deadline_days_override": "不能小于1"}


@pytest.mark.parametrize(
    "moment",
    [
        beijing("2026-03-02", "09:00"),
        beijing("2026-03-06", "18:30"),
        beijing("2026-03-07", "10:00"),
        beijing("2026-04-30", "16:00"),
        beijing("2026-09-30", "17:00"),
        beijing("2026-02-13", "12:00"),
    ],
)
def test_what_the_form_accepts_gives_cooperating_units_a_working_day(moment):
    """The process gives a cooperating unit ``workday_before(deadline, 1)`` with ``deadline =
    add_workdays(dispatch, days)`` (processes/case.bpmn): on the official calendar, over
    weekends and holidays, the form accepts exactly the days that leave it creation + 1 working day."""
    helpers = workdays.helpers(workdays.WorkCalendar(), lambda: moment)
    earliest = helpers["add_workdays"](moment.isoformat(), 1)
    for days in range(1, 6):
        coop_due = helpers["workday_before"](helpers["add_workdays"](moment.isoformat(), days), 1)
        try:
            forms.validate(SCHEMA, {**WITH_COOP, "deadline_days_override": days})
            accepted = True
        except forms.FormValidationError:
            accepted = False
        assert accepted == (coop_due >= earliest), (moment, days, coop_due, earliest)


def test_the_rule_table_never_gives_cooperating_units_less_than_a_working_day():
    """Without an override the deadline comes from deadline.dmn: every rule gives at least 2 days."""
    tree = ET.parse(ROOT / "processes" / "deadline.dmn")
    days = [int(entry.findtext("{*}text")) for entry in tree.getroot().findall(".//{*}outputEntry")]
    assert days and min(days) >= 2


def test_the_process_refuses_and_then_gives_the_cooperating_unit_a_working_day(new_case, clock, Session):
    case = new_case(county="city", category="土地批复")
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    case.move_to(beijing("2026-03-06", "16:00"))  # a Friday afternoon
    with pytest.raises(forms.FormValidationError) as refused:
        case.complete("分级交办", "wg:city", {**WITH_COOP, "deadline_days_override": 1}, actor="wg.city")
    assert "deadline_days_override" in refused.value.by_field()
    assert case.open_tasks() == [("分级交办", ["wg:city"])]  # nothing was dispatched
    case.complete("分级交办", "wg:city", {**WITH_COOP, "deadline_days_override": 2}, actor="wg.city")
    coop = case.task("配合单位意见", "unit:fgw")
    monday_close = beijing("2026-03-09", "17:30")
    assert coop.due_at >= monday_close
