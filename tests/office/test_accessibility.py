"""axe-core (npm, node_modules/axe-core) run in Chromium on the inbox, a task page, the case
page and the enterprise portal: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.users import DEMO_PASSWORD
from tests.web.conftest import app, browser_type_launch_args, live_server, ready_task, start_case, web_settings  # noqa: F401

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _page(browser, base: str, username: str):
    # the app's CSP forbids injected scripts: this context only, so that axe can be loaded
    context = browser.new_context(locale="zh-CN", bypass_csp=True, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _serious(page, url: str) -> list[dict]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations(browser, live_server, start_case, Session):
    assert AXE.is_file(), "run npm ci (axe-core is a dev dependency in package.json)"
    case = start_case()
    task = ready_task(Session, case, "intake")
    found = {}
    context, wg = _page(browser, live_server, "wg.jianping")
    for url in ("/inbox", f"/tasks/{task}", f"/cases/{case}"):
        found[url] = _serious(wg, live_server + url)
    context.close()
    context, ent = _page(browser, live_server, "ent.demo1")
    for url in ("/portal", f"/portal/cases/{case}"):
        found[url] = _serious(ent, live_server + url)
    context.close()
    bad = {url: v for url, v in found.items() if v}
    assert bad == {}, "\n".join(f"{u}: {x}" for u, vs in bad.items() for x in vs)


def test_skip_link_and_phone_inputs(browser, live_server):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "wg.jianping")
    page.fill("#password", DEMO_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    page.goto(live_server + "/inbox")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    sizes = page.evaluate(
        "[...document.querySelectorAll('#inbox-filters input:not([type=checkbox]):not([type=hidden]), #inbox-filters select')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 16, sizes
    # the tab bar scrolls: its last tab can be brought into view, nothing clipped for good
    last = page.locator("nav.tabs a.tab").last
    last.scroll_into_view_if_needed()
    box, bar = last.bounding_box(), page.locator("nav.tabs").bounding_box()
    assert box["x"] + box["width"] <= bar["x"] + bar["width"] + 1
    context.close()
