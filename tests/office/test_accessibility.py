"""axe-core (npm, node_modules/axe-core) run in Chromium on the inbox, a task page, the case
page and the enterprise portal: no serious or critical violation."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.users import DEMO_PASSWORD
from tests.web.conftest import (app, browser_type_launch_args, live_server, ready_task, start_case,  # noqa: F401
                                web_settings)

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
