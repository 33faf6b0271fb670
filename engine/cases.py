"""The 直通车 case: numbering, starting (once per idempotency key), and messages addressed by
case number.

The web UI and the API call these; the process itself lives in ``processes/case.bpmn``.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine as _SaEngine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import access
from . import forms as forms_mod
from .errors import Conflict, NotFound
from .models import CaseCounter, Instance, SubmissionKey
from .workdays import to_china_date

CASE_PROCESS = "ztc_case"
SUBMIT_FORM = "case-submit.schema.json"
PREFIX = "ZTC"


def next_case_no(session: Session, year: int) -> str:
    """Allocate the next number of ``year``: one upsert (``INSERT … ON CONFLICT DO UPDATE …
    RETURNING``).

    On PostgreSQL it runs in a short transaction of its own, committed at once, so concurrent
    submissions hold the counter row only for that statement, not for the whole start. A start
    that then fails leaves a gap in the numbers, never a half-saved case nor a number given
    twice. On SQLite the caller already holds the write lock: it runs in the caller's
    transaction (a second connection would wait for that lock)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, _SaEngine):
        with bind.begin() as conn:  # its own transaction: the row lock ends with this statement
            last = conn.execute(_bump(bind.dialect.name, year)).scalar_one()
    else:
        last = session.execute(_bump(bind.dialect.name, year)).scalar_one()
    return f"{PREFIX}-{year}-{last:04d}"


def _bump(dialect: str, year: int):
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseCounter).values(year=year, last=1)
    return stmt.on_conflict_do_update(index_elements=[CaseCounter.year],
                                      set_={"last": CaseCounter.last + 1}).returning(CaseCounter.last)


def start_case(session: Session, engine, data: dict[str, Any], actor: str) -> Instance:
    """Validate the submission, number the case and start the case process."""
    version = engine.version(session, CASE_PROCESS)
    forms = engine.specs.get(version).forms
    clean = forms_mod.validate(forms[SUBMIT_FORM], data) if SUBMIT_FORM in forms else dict(data)
    year = to_china_date(engine.clock.now()).year
    case_no = next_case_no(session, year)
    return engine.start(session, CASE_PROCESS, {**clean, "case_no": case_no}, actor=actor,
                        business_key=case_no, version=version.version)


def fingerprint(data: Any) -> str:
    """SHA-256 of a submission's data, to tell a true repeat from a reused key."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def start_once(session: Session, actor: str, key: str | None, start: Callable[[], Instance],
               data_fingerprint: str | None = None) -> tuple[Instance, bool]:
    """``start()`` a case unless ``actor`` already submitted one with ``key``: (case, created).

    The key row is written (in a savepoint) before the case starts, so of two submissions
    with one key at the same moment the second waits for the first (the unique key, or
    SQLite's write lock) and then answers with the first one's case. A key reused for other
    data (a different ``data_fingerprint``) is a Conflict.
    """
    if not key:
        return start(), True
    existing = _submission(session, actor, key)
    if existing is None:
        try:
            with session.begin_nested():
                row = SubmissionKey(actor=actor, key=key, fingerprint=data_fingerprint)
                session.add(row)
                session.flush()
        except IntegrityError:  # the other submission with this key committed first
            existing = _submission(session, actor, key)
        else:
            instance = start()
            row.instance_id = instance.id
            session.flush()
            return instance, True
    if existing is None or existing.instance_id is None:
        raise Conflict("a submission with this idempotency key is still being processed; retry shortly")
    if data_fingerprint is not None and existing.fingerprint not in (None, data_fingerprint):
        raise Conflict("this idempotency key was already used for a different submission",
                       reason="idempotency_key_reused")
    return session.get(Instance, existing.instance_id), False


def _submission(session: Session, actor: str, key: str) -> SubmissionKey | None:
    return session.scalars(select(SubmissionKey).where(SubmissionKey.actor == actor, SubmissionKey.key == key)
                           .execution_options(populate_existing=True)).first()


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
