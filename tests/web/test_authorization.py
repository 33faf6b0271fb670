"""Every role tries other people's cases, tasks and files by id and gets 403 or 404."""

from __future__ import annotations

import io

import pytest

from tests.web.conftest import ENT2, INTAKE_OK, ready_task

DENIED = (403, 404)


@pytest.fixture
def world(app, as_user, start_case, Session):
    """Case A: ent.demo1 in jianping, dispatched to zrzyj (coop fgw), with a file.
    Case B: ent.demo2 in shuangta, waiting for intake."""
    a = start_case()
    b = start_case(uscc=ENT2, county="shuangta", by="ent.demo2", name="朝阳示范能源有限公司", title="电力增容")
    wg = as_user("wg.jianping")
    intake = ready_task(Session, a, "intake")
    assert wg.post(f"/tasks/{intake}", {**INTAKE_OK, "action": "complete"}).status_code == 302
    r = wg.post(
        f"/cases/{a}/attachments", {"file": (io.BytesIO(b"%PDF-1.4 x"), "批复.pdf")}, content_type="multipart/form-data"
    )
    assert r.status_code == 302
    from sqlalchemy import select

    from engine.models import Attachment

    with Session() as s:
        file_a = s.scalars(select(Attachment).where(Attachment.instance_id == a)).one().id
    return {
        "a": a,
        "b": b,
        "file_a": file_a,
        "handle_a": ready_task(Session, a, "handle"),
        "intake_b": ready_task(Session, b, "intake"),
    }


def _status(browser, url):
    return browser.get(url).status_code


@pytest.mark.parametrize(
    "user,sees_a,sees_b",
    [
        ("wg.city", True, True),  # the city working group sees every case
        ("leader.mayor", True, True),  # so do the city leaders
        ("wg.jianping", True, False),  # a county WG: its county only
        ("leader.jianping", True, False),
        ("wg.shuangta", False, True),
        ("unit.zrzyj", True, False),  # lead unit of A
        ("head.zrzyj", True, False),
        ("unit.fgw", True, False),  # cooperating unit of A
        ("unit.sthjj", False, False),  # an unrelated unit
        ("head.gdgs", False, False),
    ],
)
def test_officials_see_cases_of_their_scope(world, as_user, user, sees_a, sees_b):
    b = as_user(user)
    assert (_status(b, f"/cases/{world['a']}") == 200) is sees_a
    assert (_status(b, f"/cases/{world['b']}") == 200) is sees_b
    assert (_status(b, f"/cases/{world['a']}/diagram.json") == 200) is sees_a
    assert (_status(b, f"/files/{world['file_a']}") == 200) is sees_a
    listing = b.get("/cases").get_data(as_text=True)
    assert ("T20260001" in listing) is sees_a
    assert ("T20260002" in listing) is sees_b
    if not sees_a:
        assert _status(b, f"/cases/{world['a']}") in DENIED
        assert _status(b, f"/files/{world['file_a']}") in DENIED
        assert b.post(f"/cases/{world['a']}/comments", {"body": "x"}).status_code in DENIED


@pytest.mark.parametrize("user", ["wg.city", "unit.sthjj", "leader.mayor", "head.zrzyj", "wg.shuangta"])
def test_officials_cannot_open_or_complete_tasks_of_other_groups(world, as_user, user):
    b = as_user(user)
    task = world["handle_a"]  # for unit:zrzyj only
    assert _status(b, f"/tasks/{task}") in DENIED
    assert b.post(f"/tasks/{task}", {"result": "冒名办理结果", "action": "complete"}).status_code in DENIED
    for op in ("claim", "unclaim", "take-back"):
        assert b.post(f"/tasks/{task}/{op}").status_code in DENIED
    assert b.post(f"/tasks/{task}/assign", {"to": user}).status_code in DENIED


def test_hand_over_redirects_only_within_the_site(world, as_user):
    b = as_user("unit.zrzyj")
    task = world["handle_a"]
    response = b.post(f"/tasks/{task}/claim", {"next": "https://evil.example/phish"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    response = b.post(f"/tasks/{task}/unclaim", {"next": f"/tasks/{task}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tasks/{task}")


def test_enterprise_sees_only_its_own(world, as_user):
    other = as_user("ent.demo2")
    assert _status(other, f"/portal/cases/{world['a']}") in DENIED
    assert _status(other, f"/portal/files/{world['file_a']}") in DENIED
    assert _status(other, f"/portal/cases/{world['b']}") == 200
    assert other.post(f"/portal/cases/{world['a']}/comments", {"body": "x"}).status_code in DENIED
    assert other.post(f"/portal/cases/{world['a']}/withdraw").status_code in DENIED
    assert "T20260001" not in other.get("/portal/").get_data(as_text=True)
    # official pages and tasks are closed to enterprises
    for url in (f"/cases/{world['a']}", "/inbox", f"/tasks/{world['intake_b']}", f"/files/{world['file_a']}"):
        assert _status(other, url) in DENIED
    assert _status(other, f"/portal/tasks/{world['intake_b']}") in DENIED
    own = as_user("ent.demo1")
    assert _status(own, f"/portal/cases/{world['a']}") == 200
    assert _status(own, f"/portal/files/{world['file_a']}") == 200
    assert _status(own, f"/portal/tasks/{world['handle_a']}") in DENIED


def test_officials_cannot_use_the_portal(world, as_user):
    assert _status(as_user("wg.city"), f"/portal/cases/{world['a']}") == 403


def test_anonymous_is_sent_to_login(app, world):
    client = app.test_client()
    for url in (
        f"/cases/{world['a']}",
        "/inbox",
        f"/files/{world['file_a']}",
        f"/portal/cases/{world['a']}",
        f"/tasks/{world['handle_a']}",
    ):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_unknown_ids_are_404(world, as_user):
    b = as_user("wg.city")
    for url in ("/cases/99999", "/tasks/99999", "/files/99999", "/cases/99999/diagram.json"):
        assert _status(b, url) == 404
