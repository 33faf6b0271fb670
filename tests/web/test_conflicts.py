"""Conflicts are explained, input kept (issue 13, item 5), on SQLite and PostgreSQL:
the second completion of a task is told who completed it and when, with what it typed kept;
the API answers 409 in its one error shape; of two claims at once exactly one wins; a case
form sent twice (double click, retry) makes one case.

SQLite runs one writer at a time (a request takes the write lock with its first query), so
there two "simultaneous" requests run one after the other. PostgreSQL runs them at once: there
each request of a race waits, after reading the task as ready, until the other has read it
too (``both_read_first``), so the race is real every time, not only when the timing happens.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask, Instance, SubmissionKey
from tests.api.conftest import INTAKE_JSON, ApiClient, assert_error, make_token

from .conftest import INTAKE_OK, SUBMISSION, ready_task


def both_read_first(monkeypatch, db_engine, target, name: str) -> None:
    """On PostgreSQL, ``target.name`` returns only once both racing requests have called it."""
    if db_engine.dialect.name != "postgresql":
        return
    barrier = threading.Barrier(2)
    original = getattr(target, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        barrier.wait(timeout=60)
        return result

    monkeypatch.setattr(target, name, wrapped)


def at_once(*calls):
    """Run the calls in threads started together; their results in call order."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, call):
        start.wait(timeout=60)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def text_of(response) -> str:
    return response.get_data(as_text=True)


# -- the second completion, on the pages -----------------------------------------------------
def test_the_second_completion_is_told_who_and_when_and_keeps_its_input(as_user, start_case, Session):
    task_id = ready_task(Session, start_case(), "intake")
    first, second = as_user("wg.city"), as_user("wg.city2")
    assert second.get(f"/tasks/{task_id}").status_code == 200  # both have the form open
    assert first.post(f"/tasks/{task_id}", {**INTAKE_OK, "action": "complete"}).status_code == 302

    r = second.post(f"/tasks/{task_id}", {**INTAKE_OK, "opinion": "第二位同志写的意见", "action": "complete"})
    page = text_of(r)
    assert r.status_code == 409
    assert re.search(r"该事项已由 wg\.city 于 \d\d:\d\d 办理完毕", page), page[:2000]
    assert '<textarea id="kept-draft"' in page and "第二位同志写的意见" in page  # kept, to copy from
    # opening the task later says the same (no input to keep), not "page does not exist"
    r = second.get(f"/tasks/{task_id}")
    assert r.status_code == 200 and "该事项已由 wg.city 于" in text_of(r) and "kept-draft" not in text_of(r)
    # someone it was never offered to still learns nothing
    assert as_user("unit.zrzyj").get(f"/tasks/{task_id}").status_code == 404
    with Session() as s:
        assert s.get(HumanTask, task_id).completed_by == "wg.city"


def test_two_completions_at_once_one_wins_the_other_sees_who(
    as_user, start_case, Session, engine, db_engine, monkeypatch
):
    task_id = ready_task(Session, start_case(), "intake")
    people = {"wg.city": as_user("wg.city"), "wg.city2": as_user("wg.city2")}
    for b in people.values():
        b.get(f"/tasks/{task_id}")
    both_read_first(monkeypatch, db_engine, engine, "load")
    results = at_once(
        *[
            lambda u=u, b=b: b.post(f"/tasks/{task_id}", {**INTAKE_OK, "opinion": f"{u} 的意见", "action": "complete"})
            for u, b in people.items()
        ]
    )
    assert sorted(r.status_code for r in results) == [302, 409], [text_of(r)[:300] for r in results]
    winner, loser = (u for u, _ in sorted(zip(people, results), key=lambda p: p[1].status_code))
    page = text_of(next(r for r in results if r.status_code == 409))
    assert f"该事项已由 {winner} 于" in page and f"{loser} 的意见" in page, page[:2000]
    with Session() as s:
        task = s.get(HumanTask, task_id)
        assert task.state == "completed" and task.completed_by == winner


# -- the API -------------------------------------------------------------------------------
@pytest.fixture
def api_pair(app, Session):
    return {u: ApiClient(app.test_client(), make_token(Session, u)) for u in ("wg.city", "wg.city2")}


def test_the_api_answers_409_with_who_and_when(api_pair, start_case, Session, app):
    task_id = ready_task(Session, start_case(), "intake")
    url = f"/api/v1/tasks/{task_id}/complete"
    assert api_pair["wg.city"].post(url, {"data": INTAKE_JSON}).status_code == 200
    error = assert_error(api_pair["wg.city2"].post(url, {"data": INTAKE_JSON}), 409, "conflict")
    assert error["details"]["completed_by"] == "wg.city" and error["details"]["completed_at"]
    assert_error(api_pair["wg.city2"].post(f"/api/v1/tasks/{task_id}/claim"), 409, "conflict")
    outsider = ApiClient(app.test_client(), make_token(Session, "unit.zrzyj"))
    assert_error(outsider.post(url, {"data": INTAKE_JSON}), 404)  # existence not revealed


def test_two_api_completions_at_once(api_pair, start_case, Session, engine, db_engine, monkeypatch):
    task_id = ready_task(Session, start_case(), "intake")
    url = f"/api/v1/tasks/{task_id}/complete"
    both_read_first(monkeypatch, db_engine, engine, "load")
    results = at_once(*[lambda c=c: c.post(url, {"data": INTAKE_JSON}) for c in api_pair.values()])
    assert sorted(r.status_code for r in results) == [200, 409], [text_of(r)[:300] for r in results]
    winner = next(u for u, r in zip(api_pair, results) if r.status_code == 200)
    error = assert_error(next(r for r in results if r.status_code == 409), 409, "conflict")
    assert error["details"]["completed_by"] == winner


# -- claims --------------------------------------------------------------------------------
def test_two_claims_at_once_exactly_one_wins(api_pair, start_case, Session, db_engine, monkeypatch):
    from engine import inbox

    task_id = ready_task(Session, start_case(), "intake")
    both_read_first(monkeypatch, db_engine, inbox, "_ready")
    results = at_once(*[lambda c=c: c.post(f"/api/v1/tasks/{task_id}/claim") for c in api_pair.values()])
    assert sorted(r.status_code for r in results) == [200, 409], [text_of(r)[:300] for r in results]
    winner = next(u for u, r in zip(api_pair, results) if r.status_code == 200)
    error = assert_error(next(r for r in results if r.status_code == 409), 409, "conflict")
    assert error["details"]["assignee"] == winner
    with Session() as s:
        assert s.get(HumanTask, task_id).assignee == winner
        from engine.models import AuditEntry

        claims = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "claim")).all()
        assert claims == [winner]


def test_a_claim_of_a_claimed_task_is_refused_on_the_page(as_user, start_case, Session):
    task_id = ready_task(Session, start_case(), "intake")
    assert as_user("wg.city").post(f"/tasks/{task_id}/claim").status_code == 302
    late = as_user("wg.city2")
    r = late.post(f"/tasks/{task_id}/claim", follow_redirects=True)
    assert "该事项已被 wg.city 认领" in text_of(r)
    with Session() as s:
        assert s.get(HumanTask, task_id).assignee == "wg.city"


# -- one case per submission ---------------------------------------------------------------
def _cases(Session) -> int:
    with Session() as s:
        return s.scalar(select(func.count()).select_from(Instance).where(Instance.business_key.is_not(None)))


def test_a_case_form_sent_twice_makes_one_case(as_user, Session, case_process):
    ent = as_user("ent.demo1")
    page = text_of(ent.get("/portal/submit"))
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)
    form = {**SUBMISSION, "submission_key": key}
    first, again = ent.post("/portal/submit", form), ent.post("/portal/submit", form)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]  # the same case page
    assert _cases(Session) == 1
    assert "未重复提交" in text_of(ent.get(again.headers["Location"]))
    # a newly opened form is a new submission
    key2 = re.search(r'name="submission_key" value="([0-9a-f]{32})"', text_of(ent.get("/portal/submit"))).group(1)
    assert key2 != key
    assert ent.post("/portal/submit", {**SUBMISSION, "submission_key": key2}).status_code == 302
    assert _cases(Session) == 2


def test_a_double_click_at_once_makes_one_case(as_user, Session, case_process):
    ent = as_user("ent.demo1")
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', text_of(ent.get("/portal/submit"))).group(1)
    results = at_once(*[lambda: ent.post("/portal/submit", {**SUBMISSION, "submission_key": key})] * 2)
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    assert _cases(Session) == 1


def test_the_api_idempotency_key(app, Session, case_process):
    ent = ApiClient(app.test_client(), make_token(Session, "ent.demo1"))
    body = {"data": dict(SUBMISSION)}
    key = {"Idempotency-Key": "retry-7f3c"}
    first = ent.post("/api/v1/cases", body, headers=dict(key))
    again = ent.post("/api/v1/cases", body, headers=dict(key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"] and _cases(Session) == 1
    other = {"data": {**body["data"], "title": "另一件事"}}
    error = assert_error(ent.post("/api/v1/cases", other, headers=dict(key)), 409, "conflict")
    assert error["details"]["reason"] == "idempotency_key_reused"
    assert_error(ent.post("/api/v1/cases", body, headers={"Idempotency-Key": "x" * 101}), 400)
    # another enterprise's key space is its own
    ent2 = ApiClient(app.test_client(), make_token(Session, "ent.demo2"))
    assert ent2.post("/api/v1/cases", body, headers=dict(key)).status_code == 201
    # no key: every call is a new case
    assert ent.post("/api/v1/cases", body).status_code == 201
    assert _cases(Session) == 3
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(SubmissionKey)) == 2
