"""The JSON API of finding and bulk hand-over: ``q`` on /tasks and /cases, ``due_today``,
``days_left``, and POST /tasks/bulk (each task checked and audited on its own)."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import AuditEntry
from tests.api.conftest import api, assert_error, make_token  # noqa: F401
from tests.web.conftest import ENT1, app, start_case, web_settings  # noqa: F401


def test_q_finds_tasks_and_cases_by_their_words(api, start_case):
    water = start_case(title="厂区道路积水影响通行")
    start_case(title="用电报装缓慢", uscc=ENT1)
    client = api("wg.jianping")
    tasks = client.get("/api/v1/tasks?q=积水").get_json()
    assert [t["instance_id"] for t in tasks["items"]] == [water]
    assert tasks["page"]["total"] == 1 and "days_left" in tasks["items"][0]
    cases = client.get("/api/v1/cases?q=积水 通行").get_json()
    assert [c["id"] for c in cases["items"]] == [water]
    assert client.get("/api/v1/cases?q=积水 报装").get_json()["items"] == []
    assert client.get("/api/v1/tasks?due_today=true").status_code == 200
    assert_error(client.get("/api/v1/tasks?q=" + "字" * 201), 422)


def test_bulk_claims_what_it_may_and_reports_the_rest(api, start_case, Session):
    ids = []
    for n in range(3):
        case = start_case(title=f"第{n}件")
        ids.append(api("wg.jianping").get(f"/api/v1/tasks?q=第{n}件").get_json()["items"][0]["id"])
    other = api("unit.fgw").post("/api/v1/tasks/bulk", json={"action": "claim", "task_ids": ids[:1]})
    assert other.status_code == 200 and other.get_json()["done"] == [] and other.get_json()["failed"][0]["id"] == ids[0]
    client = api("wg.jianping")
    body = client.post("/api/v1/tasks/bulk", json={"action": "claim", "task_ids": ids}).get_json()
    assert body == {"done": ids, "failed": []}
    again = client.post("/api/v1/tasks/bulk", json={"action": "assign", "task_ids": ids, "to": "unit.fgw"})
    assert_error(again, 400)  # unit.fgw is not in the tasks' groups: nothing is handed over
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "claim")) == 3
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "assign")) == 0
    assert_error(client.post("/api/v1/tasks/bulk", json={"action": "claim", "task_ids": []}), 422)
    assert_error(client.post("/api/v1/tasks/bulk", json={"action": "drop", "task_ids": ids}), 422)
    assert case
