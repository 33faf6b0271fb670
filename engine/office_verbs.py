"""The office verbs officials expect (issue 19): 催办 (urge the holder of an open task),
抄送 (copy a case to a person or group for reading) and 常用意见 (a person's saved phrases).

Each is an engine operation: permission checked here, an audit entry per change, the
notification written to the outbox in the same transaction. No web here; the caller owns
the transaction (functions flush).

Who may do what:
- 催办: a working group (``wg:city`` any case, ``wg:<county>`` its county's), a leader
  (``leader:city`` any, ``leader:<county>`` its county's) or a head of the task's unit
  (``head:<u>`` for a task of ``unit:<u>``); never twice within ``URGE_INTERVAL``.
- 抄送: a working group or a leader who may see the case, or a head of a unit on it; to an
  active official or to a group (``wg:``, ``leader:``, ``unit:``, ``head:``). The recipients
  read the case (``access.can_see_case``) but may not comment, upload or act on it.
- 常用意见: everyone keeps their own (at most ``MAX_PHRASES`` of at most 500 characters).
"""

from __future__ import annotations

import datetime as _dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import notify as notify_mod
from .access import Principal, can_see_case
from .errors import Conflict, InvalidRequest, NotAllowed, NotFound
from .models import AuditEntry, CaseCopy, HumanTask, Instance, Phrase, User

URGE_INTERVAL = _dt.timedelta(minutes=10)
MAX_PHRASES = 100
COPY_GROUP_PREFIXES = ("wg:", "leader:", "unit:", "head:")


def _audit(
    session: Session,
    actor: str,
    action: str,
    instance: Instance,
    task: HumanTask | None = None,
    data: dict | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=clock_mod.now(),
            actor=actor,
            action=action,
            instance_id=instance.id,
            task_bpmn_id=task.bpmn_id if task else None,
            task_name=task.name if task else None,
            data=data,
        )
    )


def _supervises(principal: Principal, instance: Instance) -> bool:
    """A working group or leader of the whole city, or of the case's county."""
    county = (instance.summary or {}).get("county")
    scopes = {g.split(":", 1)[1] for g in principal.groups if g.split(":", 1)[0] in ("wg", "leader") and ":" in g}
    return "city" in scopes or (county is not None and county in scopes)


def _heads(principal: Principal) -> set[str]:
    return {g.split(":", 1)[1] for g in principal.groups if g.startswith("head:")}


# -- 催办 ------------------------------------------------------------------------------------
def may_urge(principal: Principal, task: HumanTask) -> bool:
    if principal.is_enterprise or task.state != "ready":
        return False
    unit_groups = {f"unit:{u}" for u in _heads(principal)}
    return _supervises(principal, task.instance) or bool(unit_groups & set(task.candidate_groups or []))


def urge(session: Session, principal: Principal, task_id: int, message: str = "") -> HumanTask:
    """Urge whoever holds the task (its assignee, else every member of its groups)."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if task.state != "ready":
        raise Conflict(f"task {task_id} is already {task.state}", state=task.state)
    if not may_urge(principal, task):
        raise NotAllowed("only the working group, a leader or the unit's head may urge this task")
    message = " ".join((message or "").split())
    if len(message) > 500:
        raise InvalidRequest("an urging message has at most 500 characters", field="message")
    now = clock_mod.now()
    if task.urged_at is not None and now - task.urged_at < URGE_INTERVAL:
        raise Conflict(f"task {task_id} was urged by {task.urged_by} a moment ago", urged_by=task.urged_by)
    recipients = (
        [task.assignee] if task.assignee else notify_mod.usernames_in_groups(session, task.candidate_groups or [])
    )
    case = notify_mod.case_label(task.instance)
    body = f"案件 {case}：待办「{task.name}」已被 {principal.username} 催办，请尽快办理。" + (
        f"催办意见：{message}" if message else ""
    )
    notify_mod.enqueue(
        session,
        kind="urge",
        recipients=recipients,
        subject=f"【直通车】催办：{task.name}",
        body=body,
        now=now,
        instance=task.instance,
        task=task,
    )
    task.urged_at, task.urged_by = now, principal.username
    _audit(session, principal.username, "urge", task.instance, task, {"to": recipients, "message": message})
    session.flush()
    return task


# -- 抄送 ------------------------------------------------------------------------------------
def may_copy(session: Session, principal: Principal, instance: Instance) -> bool:
    if principal.is_enterprise:
        return False
    if _supervises(principal, instance):
        return True
    summary = instance.summary or {}
    units = {summary.get("lead_unit"), *(summary.get("coop_units") or [])}
    return bool(_heads(principal) & units) and can_see_case(session, principal, instance)


def copy_case(
    session: Session,
    principal: Principal,
    instance: Instance,
    *,
    to_user: str | None = None,
    to_group: str | None = None,
    note: str = "",
) -> CaseCopy:
    if not may_copy(session, principal, instance):
        raise NotAllowed("only the working group, a leader or a head of a unit on the case may copy it")
    if bool(to_user) == bool(to_group):
        raise InvalidRequest("copy to one person or one group", field="to")
    note = " ".join((note or "").split())
    if len(note) > 500:
        raise InvalidRequest("a note has at most 500 characters", field="note")
    if to_user:
        user = session.scalars(select(User).where(User.username == to_user)).first()
        if user is None or not user.active or user.kind == "enterprise":
            raise InvalidRequest(f"'{to_user}' is not an active official", field="to")
        recipients = [user.username]
    else:
        assert to_group  # exactly one of to_user / to_group (checked above)
        if not to_group.startswith(COPY_GROUP_PREFIXES) or len(to_group) > 200:
            raise InvalidRequest(f"'{to_group}' is not a group a case can be copied to", field="to")
        recipients = notify_mod.usernames_in_groups(session, [to_group])
        if not recipients:
            raise InvalidRequest(f"nobody is in the group '{to_group}'", field="to")
    copy = CaseCopy(
        instance_id=instance.id,
        recipient=to_user or None,
        group=to_group or None,
        copied_by=principal.username,
        note=note,
        created_at=clock_mod.now(),
    )
    session.add(copy)
    case = notify_mod.case_label(instance)
    notify_mod.enqueue(
        session,
        kind="copy",
        recipients=recipients,
        subject=f"【直通车】抄送：{case}",
        body=f"{principal.username} 将案件 {case} 抄送给您阅知。" + (f"附言：{note}" if note else ""),
        now=clock_mod.now(),
        instance=instance,
    )
    _audit(session, principal.username, "copy", instance, data={"to": to_user or to_group, "note": note})
    session.flush()
    return copy


def copied_to_me(session: Session, principal: Principal, limit: int = 200) -> list[tuple[CaseCopy, Instance]]:
    """抄送我的: copies to the person or one of their groups, newest first."""
    stmt = (
        select(CaseCopy, Instance)
        .join(Instance, Instance.id == CaseCopy.instance_id)
        .where(or_(CaseCopy.recipient == principal.username, CaseCopy.group.in_(sorted(principal.groups))))
        .order_by(CaseCopy.created_at.desc(), CaseCopy.id.desc())
        .limit(limit)
    )
    return [(c, i) for c, i in session.execute(stmt)]


def copies_of(session: Session, instance_id: int) -> list[CaseCopy]:
    return list(session.scalars(select(CaseCopy).where(CaseCopy.instance_id == instance_id).order_by(CaseCopy.id)))


# -- 常用意见 --------------------------------------------------------------------------------
def phrases(session: Session, principal: Principal) -> list[Phrase]:
    return list(session.scalars(select(Phrase).where(Phrase.owner == principal.username).order_by(Phrase.id)))


def add_phrase(session: Session, principal: Principal, text: str) -> Phrase:
    text = (text or "").strip()
    if not text or len(text) > 500:
        raise InvalidRequest("a phrase has 1 to 500 characters", field="text")
    mine = phrases(session, principal)
    if any(p.text == text for p in mine):
        return next(p for p in mine if p.text == text)
    if len(mine) >= MAX_PHRASES:
        raise InvalidRequest(f"at most {MAX_PHRASES} phrases", field="text")
    phrase = Phrase(owner=principal.username, text=text, created_at=clock_mod.now())
    session.add(phrase)
    session.flush()
    return phrase


def delete_phrase(session: Session, principal: Principal, phrase_id: int) -> None:
    phrase = session.get(Phrase, phrase_id)
    if phrase is None or phrase.owner != principal.username:
        raise NotFound(f"phrase {phrase_id}")
    session.delete(phrase)
    session.flush()


__all__ = [
    "urge",
    "may_urge",
    "copy_case",
    "may_copy",
    "copied_to_me",
    "copies_of",
    "phrases",
    "add_phrase",
    "delete_phrase",
    "URGE_INTERVAL",
]
