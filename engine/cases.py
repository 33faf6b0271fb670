"""The 直通车 case: numbering, starting, and messages addressed by case number.

The web UI and the API call these; the process itself lives in ``processes/case.bpmn``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import access
from . import forms as forms_mod
from .errors import NotFound
from .models import CaseCounter, Instance
from .workdays import to_china_date

CASE_PROCESS = "ztc_case"
SUBMIT_FORM = "case-submit.schema.json"
PREFIX = "ZTC"


def next_case_no(session: Session, year: int) -> str:
    """Allocate the next number of ``year`` inside the caller's transaction."""
    for _ in range(5):
        counter = session.scalars(
            select(CaseCounter).where(CaseCounter.year == year).with_for_update()).first()
        if counter is None:
            try:
                with session.begin_nested():
                    session.add(CaseCounter(year=year, last=0))
                    session.flush()
            except IntegrityError:  # another transaction created the year's row first
                pass
            continue
        session.execute(update(CaseCounter).where(CaseCounter.year == year).values(last=CaseCounter.last + 1))
        session.refresh(counter)
        return f"{PREFIX}-{year}-{counter.last:04d}"
    raise RuntimeError("could not allocate a case number")


def start_case(session: Session, engine, data: dict[str, Any], actor: str) -> Instance:
    """Validate the submission, number the case and start the case process."""
    version = engine.version(session, CASE_PROCESS)
    forms = engine.specs.get(version).forms
    clean = forms_mod.validate(forms[SUBMIT_FORM], data) if SUBMIT_FORM in forms else dict(data)
    year = to_china_date(engine.clock.now()).year
    case_no = next_case_no(session, year)
    return engine.start(session, CASE_PROCESS, {**clean, "case_no": case_no}, actor=actor,
                        business_key=case_no, version=version.version)


def find_case(session: Session, case_no: str) -> Instance:
    instance = session.scalars(
        select(Instance).where(Instance.business_key == case_no, Instance.process_id == CASE_PROCESS)
        .order_by(Instance.id.desc()).limit(1)).first()
    if instance is None:
        raise NotFound(f"case {case_no} does not exist")
    return instance


def deliver_case_message(session: Session, engine, case_no: str, name: str, payload: Any, actor: str) -> Instance:
    """Deliver a message (``material_supplied``, ``enterprise_withdraws``) to a case by its number,
    unchecked: for the system's own callers (demo history, tests). A person's message goes
    through ``send_as``."""
    instance = find_case(session, case_no)
    return engine.send_message(session, instance.id, name, payload, actor=actor)


def send_as(session: Session, engine, principal: access.Principal, instance: Instance, name: str,
            payload: Any) -> Instance:
    """Deliver the message ``name`` to ``instance`` on behalf of a person: ``NotFound`` when they
    may not see the case, ``NotAllowed`` when they are not its sender (``access.may_send``),
    ``MessageNotAccepted`` when the case is not waiting for it. Pages and API both come here."""
    if not access.can_see_case(session, principal, instance):
        raise NotFound(f"case {instance.business_key or instance.id} does not exist")
    access.check_may_send(principal, name, instance)
    return engine.send_message(session, instance.id, name, payload, actor=principal.username)
