"""The 直通车 case intake — the one place a case is created: the submission form (the deployed
version's), its validation, numbering, starting (once per idempotency key), and messages
addressed by case number.

The portal (webapp/portal.py), the office's 发起 page (webapp/startpage.py) and the API
(webapp/api/cases.py) all come here, so an enterprise's submission is checked the same way,
field by field, whichever way it arrives, and every case gets a number ``ZTC-YYYY-NNNN`` from
the one counter. The process itself lives in ``processes/case.bpmn``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Engine as _SaEngine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import access, startforms
from . import forms as forms_mod
from .errors import Conflict, NotAllowed, NotFound
from .models import CaseCounter, Instance, SubmissionKey, User
from .workdays import to_china_date

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import ReturningInsert

    from .runtime import Engine

CASE_PROCESS = "ztc_case"
SUBMIT_FORM = "case-submit.schema.json"
SUBMIT_UI = "case-submit.uischema.json"
PREFIX = "ZTC"
#: filled in from the enterprise's account, never from what it typed (it submits online)
ACCOUNT_FIELDS = ("enterprise_name", "uscc", "source")
ONLINE = "online"


# -- the submission form -------------------------------------------------------------------
@dataclass(frozen=True)
class SubmissionForm:
    """The submission form of the deployed case process's latest version, as an enterprise
    fills it in (``schema``: without the fields its account fills in)."""

    version: int
    full: dict[str, Any]
    schema: dict[str, Any]
    ui: dict[str, Any]

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """What the enterprise typed, validated (and coerced); ``FormValidationError`` lists
        every bad field. Account fields in ``values`` are ignored (the account fills them)."""
        typed = {k: v for k, v in values.items() if k not in ACCOUNT_FIELDS}
        return forms_mod.validate(self.schema, typed)

    def case_data(self, values: dict[str, Any], user: User) -> dict[str, Any]:
        """The case's start data: the checked values plus the enterprise's identity."""
        data = {**self.check(values), "enterprise_name": user.display_name, "uscc": user.uscc}
        if "source" in self.full.get("properties", {}):
            data["source"] = ONLINE
        return data


def submission_form(session: Session, engine: Any) -> SubmissionForm:
    """The deployed case process's submission form (never read from forms/ at request time);
    ``NotFound`` when the case process is not deployed."""
    version = engine.version(session, CASE_PROCESS)
    forms = engine.specs.get(version).forms
    full = forms.get(SUBMIT_FORM) or {"type": "object", "properties": {}}
    props = {k: v for k, v in full.get("properties", {}).items() if k not in ACCOUNT_FIELDS}
    schema = {**full, "properties": props, "required": [r for r in full.get("required", []) if r not in ACCOUNT_FIELDS]}
    return SubmissionForm(version.version, full, schema, forms.get(SUBMIT_UI) or {})


def submit(
    session: Session,
    engine: Any,
    user: User,
    values: dict[str, Any],
    *,
    key: str | None = None,
    data_fingerprint: str | None = None,
    form: SubmissionForm | None = None,
) -> tuple[Instance, bool]:
    """An enterprise submits a case (portal and API): ``NotAllowed`` for anyone else,
    ``FormValidationError`` (by field) for bad values, else the numbered case, once per ``key``:
    (case, created). With ``data_fingerprint`` a key reused for other data is a Conflict."""
    if user.kind != "enterprise":
        raise NotAllowed("only enterprises submit cases")
    form = form or submission_form(session, engine)
    data = form.case_data(values, user)
    return start_once(
        session,
        user.username,
        key,
        lambda: start_case(session, engine, data, user.username, version=form.version),
        data_fingerprint,
    )


def start_by_hand(
    session: Session, engine: Any, item: startforms.Startable, data: dict[str, Any], actor: str
) -> Instance:
    """An official's 发起 of a process with a start form (webapp/startpage.py): validated
    against the deployed version's start form; the case process started this way is numbered
    like every case."""
    if item.process_id != CASE_PROCESS:
        return startforms.start(session, engine, item, data, actor)
    clean = forms_mod.validate(item.form, data)
    return start_case(session, engine, clean, actor, version=item.version)


# -- numbering and starting ----------------------------------------------------------------
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


def _bump(dialect: str, year: int) -> ReturningInsert[int]:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseCounter).values(year=year, last=1)
    return stmt.on_conflict_do_update(index_elements=[CaseCounter.year], set_={"last": CaseCounter.last + 1}).returning(
        CaseCounter.last
    )


def start_case(session: Session, engine: Any, data: dict[str, Any], actor: str, version: int | None = None) -> Instance:
    """Validate the data against the submission form of the case process's version (the
    latest when ``version`` is None), number the case and start it."""
    pv = engine.version(session, CASE_PROCESS, version)
    forms = engine.specs.get(pv).forms
    clean = forms_mod.validate(forms[SUBMIT_FORM], data) if SUBMIT_FORM in forms else dict(data)
    year = to_china_date(engine.clock.now()).year
    case_no = next_case_no(session, year)
    return engine.start(
        session, CASE_PROCESS, {**clean, "case_no": case_no}, actor=actor, business_key=case_no, version=pv.version
    )


def fingerprint(data: Any) -> str:
    """SHA-256 of a submission's data, to tell a true repeat from a reused key."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def start_once(
    session: Session, actor: str, key: str | None, start: Callable[[], Instance], data_fingerprint: str | None = None
) -> tuple[Instance, bool]:
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
        raise Conflict(
            "this idempotency key was already used for a different submission", reason="idempotency_key_reused"
        )
    case = session.get(Instance, existing.instance_id)
    assert case is not None  # the key row's case (a foreign key, on delete cascade)
    return case, False


def _submission(session: Session, actor: str, key: str) -> SubmissionKey | None:
    return session.scalars(
        select(SubmissionKey)
        .where(SubmissionKey.actor == actor, SubmissionKey.key == key)
        .execution_options(populate_existing=True)
    ).first()


def find_case(session: Session, case_no: str) -> Instance:
    instance = session.scalars(
        select(Instance)
        .where(Instance.business_key == case_no, Instance.process_id == CASE_PROCESS)
        .order_by(Instance.id.desc())
        .limit(1)
    ).first()
    if instance is None:
        raise NotFound(f"case {case_no} does not exist")
    return instance


def deliver_case_message(
    session: Session, engine: Engine, case_no: str, name: str, payload: Any, actor: str
) -> Instance:
    """Deliver a message (``material_supplied``, ``enterprise_withdraws``) to a case by its number,
    unchecked: for the system's own callers (demo history, tests). A person's message goes
    through ``send_as``."""
    instance = find_case(session, case_no)
    return engine.send_message(session, instance.id, name, payload, actor=actor)


def send_as(
    session: Session, engine: Engine, principal: access.Principal, instance: Instance, name: str, payload: Any
) -> Instance:
    """Deliver the message ``name`` to ``instance`` on behalf of a person: ``NotFound`` when they
    may not see the case, ``NotAllowed`` when they are not its sender (``access.may_send``),
    ``MessageNotAccepted`` when the case is not waiting for it. Pages and API both come here."""
    if not access.can_see_case(session, principal, instance):
        raise NotFound(f"case {instance.business_key or instance.id} does not exist")
    access.check_may_send(principal, name, instance)
    return engine.send_message(session, instance.id, name, payload, actor=principal.username)
