"""Through the web (issue 16): a start or a completion whose script would run forever answers
within the time limit with the incident (element and limit), and the server answers the next
requests, writes included (on SQLite: the write lock was let go)."""

from __future__ import annotations

import pytest

from engine.runtime import Engine
from tests.api.conftest import api  # noqa: F401 - the fixture
from tests.engine.test_script_processes import deploy_as_stored_before_the_rule, returns

LIMIT = 1.0


@pytest.fixture
def engine(clock):
    return Engine(clock=clock, time_limit_s=LIMIT)


@pytest.fixture
def designer(app, deploy, monkeypatch, api):  # noqa: F811
    deploy_as_stored_before_the_rule(deploy, monkeypatch, "overrun.bpmn")
    return api("designer")


def _start(client, attack):
    return returns(lambda: client.post("/api/v1/instances", json={"process_id": "overrun", "data": {"attack": attack}}))


@pytest.mark.parametrize("attack", ["catch_all_loop", "decimal_unguarded", "decimal"])
def test_a_start_whose_script_would_run_forever_answers_with_the_incident(designer, attack):
    response = _start(designer, attack)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["status"] == "error"
    assert body["error"]["element_id"] == "spin"
    limit_or_guard = f"time limit of {LIMIT:g} s" if attack != "decimal" else "4300 digits"
    assert limit_or_guard in body["error"]["message"]
    # the server answers the next requests, and can write again
    assert designer.get(f"/api/v1/instances/{body['id']}").get_json()["status"] == "error"
    after = _start(designer, "none")
    assert after.status_code == 201 and after.get_json()["status"] == "running"
    assert designer.client.get("/login").status_code == 200


def test_a_completion_whose_script_would_run_forever_answers_with_the_incident(designer, as_user, Session):
    from tests.web.conftest import ready_task

    started = _start(designer, "none").get_json()
    task_id = ready_task(Session, started["id"], "again")
    response = returns(
        lambda: designer.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"attack": "catch_all_loop"}})
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    instance = designer.get(f"/api/v1/instances/{started['id']}").get_json()
    assert instance["status"] == "error" and instance["error"]["element_id"] == "spin_again"
    assert f"time limit of {LIMIT:g} s" in instance["error"]["message"]
    # an admin sees it among the incidents, and the pages still answer
    page = as_user("admin").get("/admin/incidents")
    assert page.status_code == 200 and "Spin again" in page.get_data(as_text=True)
