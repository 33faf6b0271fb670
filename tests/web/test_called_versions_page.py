"""The case page shows which version of a called process a call used (issue 15 item 4)."""

from __future__ import annotations

from tests.scenarios.test_call_binding import CALLER, callee, start_and_reach_call

from .conftest import Browser


def test_case_page_names_the_called_version(real_app, deploy, Session, engine):
    deploy({"caller.bpmn": CALLER.format(pid="bind_latest", props="").encode(), "callee.bpmn": callee("甲")})
    deploy({"callee.bpmn": callee("乙")})
    instance_id = start_and_reach_call(Session, engine, "bind_latest")
    client = Browser(real_app.test_client()).login("wg.city")
    response = client.get(f"/cases/{instance_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-800:]
    assert 'id="called-versions"' in html and "<code>bind_callee</code> v2" in html
