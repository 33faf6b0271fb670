"""Submitted means submitted (issue 13, item 4): what the working group leaves unticked in
a choice group is not given, even when a rule suggested it. The dispatch form pre-ticks the
cooperating units of the rule ``category → units``; a browser sends nothing for a group with
every box unticked, and that must mean "no cooperating unit", not "keep the suggestion"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from werkzeug.datastructures import MultiDict

from tests.scenarios.driver import Case, submission
from webapp import formrender

from .conftest import ENT1

CHOICES = {
    "type": "object",
    "required": ["must"],
    "properties": {
        "units": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "must": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 1},
        "fixed": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "picked": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "x": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["t"]}},
                },
            },
        },
    },
}
CHOICES_UI = {"fixed": {"ui:readonly": True}, "picked": {"ui:widget": "select"}}


def test_an_unticked_choice_group_is_an_empty_list():
    data = formrender.parse(CHOICES, CHOICES_UI, MultiDict([("rows.0.x", "one"), ("rows.1.x", "")]))
    # optional groups: nothing ticked / nothing selected is a choice; a row holding only an
    # empty group is no row; a required group is left out (so "required" reports it); a
    # read-only group is never sent by a browser, so it is left alone
    assert data == {"units": [], "picked": [], "rows": [{"x": "one", "tags": []}]}
    data = formrender.parse(CHOICES, CHOICES_UI, MultiDict([("units", "b"), ("must", "a")]))
    assert data["units"] == ["b"] and data["must"] == ["a"]


@pytest.fixture
def dispatch_case(real_app, Session, engine, clock):
    """A case of ent.demo1 (土地批复: the rule suggests 市发改委 as cooperating unit) accepted
    by the city working group and waiting for its dispatch."""
    from engine import cases

    with Session.begin() as session:
        data = submission(uscc=ENT1, enterprise_name="朝阳示范新材料有限公司", category="土地批复", county="city")
        case_no = cases.start_case(session, engine, data, actor="ent.demo1").business_key
    case = Case(Session, engine, clock, case_no)
    case.complete("受理审查", "wg:city", {"intake_decision": "accept"}, actor="wg.city")
    assert case.task_data("分级交办", "wg:city")["coop_units"] == ["fgw"]
    return case


@pytest.mark.browser
def test_unticking_the_suggested_cooperating_unit_gives_it_no_task(real_server, login_page, shots, dispatch_case):
    case = dispatch_case
    wg = login_page("wg.city")
    wg.goto(f"{real_server}/tasks/{case.task('分级交办', 'wg:city').id}")
    suggested = wg.locator("input[name=coop_units][value=fgw]")
    expect(suggested).to_be_checked()  # the rule's suggestion, pre-ticked
    shots(wg, "dispatch-suggested")
    suggested.uncheck()
    wg.check("input[name=dispatch_action][value=dispatch]")
    wg.select_option("#f-mode", "快速办")
    shots(wg, "dispatch-unticked")
    wg.click("#complete")
    expect(wg.locator(".flash-ok")).to_be_visible()
    shots(wg, "dispatched")

    # what was chosen is what runs: the lead unit drafts, no cooperating unit is asked
    assert case.open_tasks() == [("拟办办理结果", ["unit:zrzyj"])]
    assert case.summary["coop_units"] == []
    fgw = login_page("unit.fgw")
    fgw.goto(real_server + "/inbox")
    expect(fgw.locator("body")).not_to_contain_text(case.case_no)
    shots(fgw, "fgw-inbox")
