"""Two people of the city working group open the same 受理审查 of a real case in two browsers
and both submit (issue 13, item 5): the first is done; the second is told who did it and
when, and finds what it typed kept to copy from — no 404, no 500. Both databases (the
``db_engine`` fixture), screenshots in test-artifacts/web/<test>/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.scenarios.driver import Case, submission

from .conftest import ENT1

pytestmark = pytest.mark.browser


@pytest.fixture
def intake_case(real_app, Session, engine, clock):
    from engine import cases

    with Session.begin() as session:
        data = submission(uscc=ENT1, enterprise_name="朝阳示范新材料有限公司", county="city")
        case_no = cases.start_case(session, engine, data, actor="ent.demo1").business_key
    return Case(Session, engine, clock, case_no)


def test_the_second_of_two_browsers_is_told_who_and_when_and_keeps_its_text(
    real_server, login_page, shots, intake_case
):
    url = f"{real_server}/tasks/{intake_case.task('受理审查', 'wg:city').id}"
    first, second = login_page("wg.city"), login_page("wg.city2")
    for page in (first, second):
        page.goto(url)
        expect(page.locator("#complete")).to_be_visible()
    second.check("input[name=intake_decision][value=reject]")
    second.fill("#f-intake_reason", "不属于直通车受理范围，建议通过12345热线反映")
    shots(second, "second-typed")

    first.check("input[name=intake_decision][value=accept]")
    first.click("#complete")
    expect(first.locator(".flash-ok")).to_be_visible()
    shots(first, "first-done")

    second.click("#complete")
    expect(second.locator("#finished-message")).to_have_text(re.compile(r"该事项已由 wg\.city 于 \d\d:\d\d 办理完毕"))
    kept = second.locator("#kept-draft")
    expect(kept).to_have_value(re.compile("不属于直通车受理范围，建议通过12345热线反映"))
    expect(kept).to_have_value(re.compile("审查结论：不予受理"))
    shots(second, "second-told")
    assert "Internal Server Error" not in second.content() and not second.js_errors

    # the case went on with the first decision only
    assert intake_case.completed_task_names() == ["受理审查"]
    assert [a.actor for a in intake_case.audit() if a.action == "complete"] == ["wg.city"]
    second.click("#open-case")
    expect(second.locator("h1")).to_contain_text(intake_case.summary["title"])
