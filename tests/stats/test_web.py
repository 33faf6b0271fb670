"""The statistics pages as their users meet them: who may open them, figures that link to
their cases, Excel downloads, bulletins composed and downloaded, and the dashboard's charts
drawn in a real browser without a page error."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from engine import stats

from .conftest import dispatch, solve


@pytest.fixture
def cases(real_app, new_case, clock, Session):
    a = new_case(category="土地批复")
    dispatch(a, lead="zrzyj", coop=["fgw"])
    solve(a, coop=["fgw"])
    b = new_case(county="kazuo", category="融资贷款")
    dispatch(b, group="wg:kazuo", lead="kazuo.jrfzj")
    stats.fold_due(Session)  # the worker's pass: the rollups catch up with the steps
    return a, b


@pytest.mark.parametrize(
    "user,status",
    [
        ("ent.demo1", 403),
        ("unit.zrzyj", 403),
        ("head.zrzyj", 403),
        ("wg.city", 200),
        ("leader.mayor", 200),
        ("wg.kazuo", 200),
        ("admin", 200),
    ],
)
def test_who_may_open_statistics(real_app, as_user, user, status):
    browser = as_user(user)
    for url in ("/stats", "/stats/assessment", "/bulletins", "/stats/data.json", "/stats/export/dashboard.xlsx"):
        assert browser.client.get(url).status_code == status, url


def test_county_working_group_sees_its_county(cases, as_user):
    county = as_user("wg.kazuo").get("/stats/data.json?county=city").get_json()
    assert county["county"] == "kazuo"
    assert (county["totals"]["received"], county["totals"]["open"], county["totals"]["solved"]) == (1, 1, 0)
    city = as_user("wg.city").get("/stats/data.json").get_json()
    assert (city["county"], city["totals"]["received"], city["totals"]["solved"]) == (None, 2, 1)
    assert city["totals"]["coordinations"] == 3


def test_a_figure_opens_its_cases(cases, as_user):
    browser = as_user("wg.city")
    page = browser.get("/stats").get_data(as_text=True)
    href = re.search(r'id="kpi-solved" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    listing = browser.get(href).get_data(as_text=True)
    assert cases[0].case_no in listing and cases[1].case_no not in listing
    assert 'id="stats-filter"' in listing


def test_excel_exports(cases, as_user):
    browser = as_user("wg.city")
    book = load_workbook(io.BytesIO(browser.client.get("/stats/export/dashboard.xlsx").data))
    figures = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=2, values_only=True)}
    assert figures["受理诉求（件）"] == 2 and figures["解决难题（件）"] == 1 and figures["协调部门（次）"] == 3
    book = load_workbook(io.BytesIO(browser.client.get("/stats/export/cases.xlsx?outcome=solved").data))
    rows = list(book["案件清单"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [cases[0].case_no]
    book = load_workbook(io.BytesIO(browser.client.get("/stats/export/assessment.xlsx").data))
    units = [r[1] for r in book.active.iter_rows(min_row=2, values_only=True)]
    assert "市自然资源局" in units


def test_compose_sign_off_download(cases, as_user, real_app):
    wg = as_user("wg.city")
    form = wg.get("/bulletins/new?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert cases[1].case_no in form  # open cases are candidates
    response = wg.post(
        "/bulletins/new",
        {
            "series": "ztc",
            "title": "三月份直通车运行情况",
            "from": "2026-03-01",
            "to": "2026-03-31",
            "case_ids": str(cases[1].instance().id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    bid = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert as_user("unit.zrzyj").client.get(f"/bulletins/{bid}.pdf").status_code == 403
    assert as_user("ent.demo1").client.get(f"/bulletins/{bid}.docx").status_code == 403
    assert as_user("wg.kazuo").client.get(f"/bulletins/{bid}.docx").status_code == 404  # a city draft
    leader = as_user("leader.mayor")
    docx = leader.client.get(f"/bulletins/{bid}.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    pdf = leader.client.get(f"/bulletins/{bid}.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    listing = leader.get("/bulletins").get_data(as_text=True)
    assert "第1期" in listing and "三月份直通车运行情况" in listing


@pytest.mark.browser
def test_dashboard_draws_charts(cases, real_server, login_page, shots):
    page = login_page("wg.city")
    page.click("#nav-stats")
    expect(page.locator("h1")).to_have_text("统计总览")
    for chart in ("category", "county", "mode", "leader", "unit"):
        expect(page.locator(f"#chart-{chart}[data-rendered='1'] canvas")).to_have_count(1)
    expect(page.locator("#kpi-received .kpi-value")).to_have_text("2")
    expect(page.locator("#kpi-solved .kpi-value")).to_have_text("1")
    shots(page, "dashboard")
    page.click("#kpi-solved")
    expect(page.locator("#case-table")).to_contain_text(cases[0].case_no)
    expect(page.locator("#case-table")).not_to_contain_text(cases[1].case_no)
    page.goto(page.base + "/stats/assessment")
    expect(page.locator("#assessment-table")).to_contain_text("市自然资源局")
    shots(page, "assessment")
    assert page.js_errors == []
