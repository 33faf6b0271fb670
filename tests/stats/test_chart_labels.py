"""Dashboard charts (issue 19, item 6): every label is drawn whole — the donut charts' names
("马上办", "快速办", "监督办") were cut to "马..." — read from what ECharts actually drew."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import stats

from .conftest import dispatch

DRAWN = """el => {
  const chart = echarts.getInstanceByDom(el);
  return chart.getZr().storage.getDisplayList().map(d => d.style && d.style.text).filter(t => typeof t === 'string' && t);
}"""


@pytest.fixture
def cases(real_app, new_case, Session):
    made = []
    for mode, county, lead in (
        ("马上办", "city", "zrzyj"),
        ("快速办", "city", "rsj"),
        ("监督办", "kazuo", "kazuo.rsj"),
        ("快速办", "city", "gdgs"),
    ):
        case = new_case(county=county)
        dispatch(case, group="wg:city" if county == "city" else f"wg:{county}", lead=lead, mode=mode)
        made.append(case)
    stats.fold_due(Session)  # the worker's pass: the rollups catch up with the steps
    return made


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_chart_labels_are_drawn_whole(cases, real_server, login_page, shots, width):
    page = login_page("wg.city", phone=width < 500)
    page.click("#nav-stats")
    for chart in ("mode", "unit", "county"):
        expect(page.locator(f"#chart-{chart}[data-rendered='1']")).to_have_count(1)
    page.wait_for_timeout(300)  # ECharts lays labels out after the first frame
    page.locator("#chart-mode").scroll_into_view_if_needed()
    shots(page, f"dashboard-{width}")
    mode = page.locator("#chart-mode").evaluate(DRAWN)
    assert not [t for t in mode if "..." in t or "…" in t], mode
    for name in ("马上办", "快速办", "监督办"):
        assert any(name in t for t in mode), (name, mode)
    units = page.locator("#chart-unit").evaluate(DRAWN)
    assert not [t for t in units if "..." in t or "…" in t], units
    assert "市人力资源和社会保障局" in units and "喀左县人力资源和社会保障局" in units, units
    # and a drawn unit name lies inside the chart (not cut off at its left edge)
    box = page.locator("#chart-unit").evaluate("""el => {
      const chart = echarts.getInstanceByDom(el);
      const texts = chart.getZr().storage.getDisplayList().filter(d => d.style && d.style.text === '喀左县人力资源和社会保障局');
      const r = texts[0].getBoundingRect().clone(); r.applyTransform(texts[0].getComputedTransform());
      return [r.x, r.x + r.width, el.clientWidth];
    }""")
    assert box[0] >= 0 and box[1] <= box[2], box
    assert page.js_errors == []
