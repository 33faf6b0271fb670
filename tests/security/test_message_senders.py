"""Messages have senders (issue 16 item 2): only the enterprise that owns a case withdraws it
or supplies material, whatever officials may see; other messages belong to the working group.
Enforced by the engine (engine.cases.send_as → access.check_may_send), for the API and the
portal alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import access, cases
from engine.errors import NotAllowed
from engine.models import AuditEntry, Instance, User
from tests.api.conftest import ENT1, assert_error

MESSAGES_BPMN = Path(__file__).resolve().parents[1] / "worker" / "data" / "worker_messages.bpmn"
# every official role, each able to see the case below (county jianping, lead unit zrzyj)
OFFICIALS = [
    "unit.zrzyj",
    "head.zrzyj",
    "wg.jianping",
    "leader.jianping",
    "wg.city",
    "leader.mayor",
    "designer",
    "admin",
]
ENTERPRISE_MESSAGES = ["enterprise_withdraws", "material_supplied"]


@pytest.fixture
def waiting_case(app, deploy, Session, engine):
    """A case of ent.demo1 in county jianping, led by zrzyj, waiting for both enterprise messages."""
    deploy({MESSAGES_BPMN.name: MESSAGES_BPMN.read_bytes()})
    with Session.begin() as session:
        instance = engine.start(session, "worker_messages", {}, actor="ent.demo1", business_key="M20260001")
        instance.summary = {**(instance.summary or {}), "uscc": ENT1, "county": "jianping", "lead_unit": "zrzyj"}
        return instance.id


def _status(Session, iid: int) -> str:
    with Session() as session:
        return session.get(Instance, iid).status


def _messages(Session, iid: int) -> list:
    with Session() as session:
        return list(
            session.scalars(
                select(AuditEntry.actor).where(AuditEntry.instance_id == iid, AuditEntry.action == "message")
            )
        )


@pytest.mark.parametrize("user", OFFICIALS)
@pytest.mark.parametrize("message", ENTERPRISE_MESSAGES)
def test_no_official_sends_an_enterprise_message(api, waiting_case, Session, user, message):
    client = api(user)
    assert client.get(f"/api/v1/cases/{waiting_case}").status_code == 200, "the official sees the case"
    error = assert_error(client.post("/api/v1/messages", {"case_no": "M20260001", "name": message}), 403, "forbidden")
    assert "enterprise" in error["message"]
    assert _status(Session, waiting_case) == "running" and _messages(Session, waiting_case) == []


@pytest.mark.parametrize("message", ENTERPRISE_MESSAGES)
def test_the_owning_enterprise_sends_its_messages(api, waiting_case, Session, message):
    response = api("ent.demo1").post(
        "/api/v1/messages", {"case_no": "M20260001", "name": message, "payload": {"reason": "已自行解决"}}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _messages(Session, waiting_case) == ["ent.demo1"]
    assert _status(Session, waiting_case) == ("completed" if message == "enterprise_withdraws" else "running")


@pytest.mark.parametrize("message", ENTERPRISE_MESSAGES)
def test_another_enterprise_is_refused(api, waiting_case, Session, message):
    assert_error(api("ent.demo2").post("/api/v1/messages", {"case_no": "M20260001", "name": message}), 404)
    assert _messages(Session, waiting_case) == []


def test_an_enterprise_registered_later_with_the_case_code_owns_it(api, waiting_case, Session):
    """Ownership is the credit code, not only who typed the submission."""
    with Session.begin() as session:
        session.add(
            User(
                username="ent.colleague",
                password_hash="x",
                display_name="同事",
                kind="enterprise",
                groups=[f"enterprise:{ENT1}"],
                uscc=ENT1,
                active=True,
            )
        )
    response = api("ent.colleague").post("/api/v1/messages", {"case_no": "M20260001", "name": "enterprise_withdraws"})
    assert response.status_code == 200 and _status(Session, waiting_case) == "completed"


def test_the_portal_withdraws_only_for_the_owner(as_user, waiting_case, Session):
    assert as_user("ent.demo2").post(f"/portal/cases/{waiting_case}/withdraw", {"reason": "x"}).status_code == 404
    assert _status(Session, waiting_case) == "running"
    owner = as_user("ent.demo1")
    assert owner.post(f"/portal/cases/{waiting_case}/withdraw", {"reason": "不再需要"}).status_code == 302
    assert _status(Session, waiting_case) == "completed" and _messages(Session, waiting_case) == ["ent.demo1"]


def test_the_engine_refuses_an_official_whatever_the_caller(Session, engine, waiting_case):
    """send_as is the one path for people: a page or a program cannot skip the rule."""
    mayor = access.Principal("leader.mayor", "official", frozenset({"leader:city"}))
    with Session() as session, pytest.raises(NotAllowed):
        cases.send_as(session, engine, mayor, session.get(Instance, waiting_case), "enterprise_withdraws", {})


def _case(county="jianping", uscc=ENT1, by="ent.demo1") -> Instance:
    return Instance(summary={"county": county, "uscc": uscc}, started_by=by)


@pytest.mark.parametrize(
    "groups,county,allowed",
    [
        ({"wg:city"}, "jianping", True),
        ({"wg:jianping"}, "jianping", True),
        ({"wg:shuangta"}, "jianping", False),
        ({"leader:city"}, "jianping", False),
        ({"leader:jianping"}, "jianping", False),
        ({"unit:zrzyj"}, "jianping", False),
        ({"head:zrzyj"}, "jianping", False),
        ({"admin"}, "jianping", False),
        ({"designer"}, "jianping", False),
    ],
)
def test_other_messages_belong_to_the_working_group(groups, county, allowed):
    person = access.Principal("someone", "official", frozenset(groups))
    assert access.may_send(person, "meeting_held", _case(county)) is allowed


def test_an_enterprise_sends_no_working_group_message():
    owner = access.Principal("ent.demo1", "enterprise", frozenset({f"enterprise:{ENT1}"}), ENT1)
    assert access.may_send(owner, "enterprise_withdraws", _case())
    assert not access.may_send(owner, "meeting_held", _case())
    with pytest.raises(NotAllowed):
        access.check_may_send(owner, "meeting_held", _case())
