"""Statistics that tell the truth (issue 14): the lead-unit chart shows the units with most
cases, tied units share a rank, 沟通企业 opens enterprises, Excel dates are dates, and a
bulletin's 办理中 never exceeds its 已受理 without saying why."""

from __future__ import annotations

import datetime as _dt
import io
import json
import re

from openpyxl import load_workbook

from engine import bulletin_document, bulletins, stats
from engine.models import Bulletin
from engine.stats.assessment import UnitScore, rank

from .conftest import dispatch, make_uscc, solve

MARCH = stats.Period(_dt.date(2026, 3, 1), _dt.date(2026, 3, 31))


def test_tied_units_share_a_rank_and_the_next_skips():
    perfect = [UnitScore(u, closed=2, on_time=2, sat_good=1, sat_answered=1) for u in ("zjj", "fgw", "zrzyj")]
    late = UnitScore("gdgs", closed=2, on_time=1, sat_good=1, sat_answered=1)
    same_rate_more_overdue = UnitScore("sthjj", closed=2, on_time=1, sat_good=1, sat_answered=1, overdue=1)
    idle = UnitScore("yshj", coordinations=3)
    ranked = rank([idle, same_rate_more_overdue, late, *perfect])
    assert [(s.rank, s.unit) for s in ranked] == [
        (1, "fgw"),
        (1, "zjj"),
        (1, "zrzyj"),
        (4, "gdgs"),
        (5, "sthjj"),
        (6, "yshj"),
    ]


def test_top_units_are_those_with_most_cases():
    by_unit = {f"u{i:02d}": 1 for i in range(20)} | {"zrzyj": 19, "zz_last_by_code": 5}
    board = stats.Dashboard(MARCH, None, {}, {}, {}, {}, by_unit, {}, {}, {}, {})
    top = board.top_units(15)
    assert top[:2] == [["zrzyj", 19], ["zz_last_by_code", 5]] and len(top) == 15
    assert [c for _, c in top[2:]] == [1] * 13 and top[2][0] == "u00"  # ties by code


def _three_cases(new_case):
    a = new_case(category="土地批复")
    dispatch(a, lead="zrzyj")
    solve(a)
    b = new_case(category="融资贷款")  # the same enterprise again
    dispatch(b, lead="fgw")
    c = new_case(uscc=make_uscc("91211300MA0Q1XYW8"), enterprise_name="朝阳另一家有限公司")  # still at intake
    stats.fold_due(c.Session)  # the worker's pass: the rollups catch up with the steps
    return a, b, c


def test_the_dashboard_embeds_units_by_count_and_enterprises_open_enterprises(real_app, new_case, as_user):
    _three_cases(new_case)
    browser = as_user("wg.city")
    page = browser.get("/stats").get_data(as_text=True)
    payload = json.loads(re.search(r'id="stats-data">(.*?)</script>', page, re.S).group(1))
    assert payload["unit_top"] == [["fgw", 1], ["zrzyj", 1]]  # equal counts: by code
    assert re.search(r'id="kpi-enterprises"[^>]*>.*?<span class="kpi-value">2</span>', page, re.S)
    href = re.search(r'id="kpi-enterprises" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    listing = browser.get(href).get_data(as_text=True)
    rows = re.findall(
        r"<tr>\s*<td data-label=\"企业名称\">(.*?)</td>.*?<td data-label=\"诉求件数\"><a [^>]*>(\d+)</a>", listing, re.S
    )
    assert rows == [("朝阳某新能源科技有限公司", "2"), ("朝阳另一家有限公司", "1")]  # distinct, most cases first
    assert "期间内提交诉求的企业 2 家" in listing
    assert "办理中含尚未受理" in page  # the case at intake is open but not accepted


def test_excel_dates_are_date_cells(real_app, new_case, as_user):
    a, _b, _c = _three_cases(new_case)
    book = load_workbook(io.BytesIO(as_user("wg.city").client.get("/stats/export/cases.xlsx?outcome=solved").data))
    sheet = book["案件清单"]
    header = [c.value for c in sheet[1]]
    row = sheet[2]
    received = row[header.index("受理时间")]
    closed = row[header.index("办结时间")]
    assert isinstance(received.value, _dt.datetime) and isinstance(closed.value, _dt.datetime)
    assert received.number_format == "yyyy-mm-dd hh:mm"
    assert received.value == _dt.datetime(2026, 3, 2, 9, 0)  # Beijing time, as the clock started
    assert row[0].value == a.case_no


def test_bulletin_open_never_exceeds_accepted(Session, engine, new_case):
    _three_cases(new_case)
    with Session.begin() as s:
        b = bulletins.compose(s, engine, series="ztc", title="三月专报", period=MARCH, case_ids=[], actor="wg.city")
        bid = b.id
    with Session() as s:
        doc = bulletin_document.document(s, s.get(Bulletin, bid))
    figures = dict(doc.figures)
    assert figures["受理诉求（件）"] == "3" and figures["已受理（件）"] == "2"
    assert figures["办理中（件）"] == "1" and figures["待受理（受理审查或补充材料中，件）"] == "1"
    assert int(figures["办理中（件）"]) <= int(figures["已受理（件）"])
    html = bulletin_document.render_html(doc)
    assert "待受理（受理审查或补充材料中，件）" in html
