"""Who may see which case and which task. Used by the web pages and the JSON API alike.

Rules (docs/CONVENTIONS.md groups):

- ``admin``, ``designer``, the city working group ``wg:city`` and city leaders
  ``leader:city`` see every case;
- a county working group ``wg:<county>`` and county leaders ``leader:<county>`` see the
  cases of their county (summary ``county``);
- handlers and heads of a unit (``unit:<u>``, ``head:<u>``) see the cases where the unit
  leads or cooperates (summary ``lead_unit`` / ``coop_units``);
- an enterprise sees only its own cases (summary ``uscc`` equal to its code, or cases it
  started itself);
- anyone sees a case on which they hold, held or delegated a task;
- a case copied (抄送) to a person or one of their groups is theirs to read only
  (``can_see_case(..., copies=False)`` for anything that acts on it).

Messages to a case have senders (``may_send``): the enterprise that owns the case (it started
it, or the case's ``uscc`` is its code) alone sends ``material_supplied`` and
``enterprise_withdraws``; every other message is sent by a working group (``wg:city`` for any
case, ``wg:<county>`` for the cases of its county). Nobody else, whatever they may see.

A task is open to a person when it is ready and one of its candidate groups is theirs,
or it is assigned to them, or they delegated it. Only the assignee completes an
assigned task; an unassigned one may be completed by any member of its groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, cast, false, or_, select, true, union
from sqlalchemy.orm import Session, joinedload

from .errors import NotAllowed, NotFound
from .models import HumanTask, HumanTaskGroup, Instance, User

ALL_CASES_GROUPS = frozenset({"admin", "designer", "wg:city", "leader:city"})


@dataclass(frozen=True)
class Principal:
    """The person asking, reduced to what access decisions need."""

    username: str
    kind: str = "official"  # official | enterprise | admin
    groups: frozenset[str] = field(default_factory=frozenset)
    uscc: str | None = None

    @classmethod
    def of(cls, user: User) -> "Principal":
        groups = set(user.groups or [])
        if user.kind == "enterprise" and user.uscc:
            groups.add(f"enterprise:{user.uscc}")
        if user.kind == "admin":
            groups.add("admin")
        return cls(user.username, user.kind, frozenset(groups), user.uscc)

    @property
    def is_enterprise(self) -> bool:
        return self.kind == "enterprise"

    @property
    def sees_all_cases(self) -> bool:
        return not self.is_enterprise and bool(self.groups & ALL_CASES_GROUPS)

    def _suffixes(self, *prefixes: str) -> set[str]:
        return {g.split(":", 1)[1] for g in self.groups if g.split(":", 1)[0] in prefixes and ":" in g}

    @property
    def units(self) -> set[str]:
        return self._suffixes("unit", "head")

    @property
    def counties(self) -> set[str]:
        return self._suffixes("wg", "leader") - {"city"}


# -- cases ---------------------------------------------------------------------------------
def _task_of(principal: Principal):
    """Tasks the person holds, held or delegated (or that wait for one of their groups)."""
    mine = [HumanTask.assignee == principal.username, HumanTask.completed_by == principal.username,
            HumanTask.delegated_from == principal.username]
    if principal.groups:
        mine.append(HumanTask.id.in_(select(HumanTaskGroup.task_id).where(
            HumanTaskGroup.group.in_(sorted(principal.groups)))))
    return or_(*mine)


def _participation(principal: Principal):
    """Instance ids where the person holds, held or delegated a task."""
    return select(HumanTask.instance_id).where(_task_of(principal))


def case_filter(principal: Principal):
    """A WHERE clause on ``Instance`` limiting a query to the cases the person may see."""
    if principal.sees_all_cases:
        return true()
    summary = Instance.summary
    if principal.is_enterprise:
        own = [Instance.started_by == principal.username]
        if principal.uscc:
            own.append(summary["uscc"].as_string() == principal.uscc)
        return or_(*own)
    allowed = [Instance.id.in_(_participation(principal)), Instance.id.in_(_copies(principal))]
    for county in sorted(principal.counties):
        allowed.append(summary["county"].as_string() == county)
    if principal.units:
        text = cast(summary, String)
        for unit in sorted(principal.units):
            allowed.append(summary["lead_unit"].as_string() == unit)
            # coop_units is a JSON list; its quoted element appears in the document text
            allowed.append(text.like(f'%"{unit}"%'))
    return or_(*allowed) if allowed else false()


def _unit_matches(summary: dict, units: set[str]) -> bool:
    if summary.get("lead_unit") in units:
        return True
    coop = summary.get("coop_units") or []
    if isinstance(coop, str):
        coop = [coop]
    return bool(units & {str(u) for u in coop})


def _copies(principal: Principal, instance_id: int | None = None):
    """Instance ids copied (抄送) to the person or one of their groups: read-only."""
    from .models import CaseCopy

    stmt = select(CaseCopy.instance_id).where(or_(CaseCopy.recipient == principal.username,
                                                  CaseCopy.group.in_(sorted(principal.groups))))
    return stmt if instance_id is None else stmt.where(CaseCopy.instance_id == instance_id)


def can_see_case(session: Session, principal: Principal, instance: Instance | None, copies: bool = True) -> bool:
    """May read the case; ``copies=False``: without the cases merely copied to them (抄送 is
    read-only: no comment, upload or other act on the case)."""
    if instance is None:
        return False
    if principal.sees_all_cases:
        return True
    summary = instance.summary or {}
    if principal.is_enterprise:
        return owns_case(principal, instance)
    if summary.get("county") in principal.counties:
        return True
    if principal.units and _unit_matches(summary, principal.units):
        return True
    if session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance.id, _task_of(principal)).limit(1)) is not None:
        return True
    return copies and session.scalar(_copies(principal, instance.id).limit(1)) is not None


def owns_case(principal: Principal, instance: Instance) -> bool:
    """The enterprise that started the case or whose credit code the case carries."""
    if not principal.is_enterprise:
        return False
    summary = instance.summary or {}
    return instance.started_by == principal.username or (
        principal.uscc is not None and summary.get("uscc") == principal.uscc)


# -- messages ------------------------------------------------------------------------------
ENTERPRISE = "enterprise"
WORKING_GROUP = "working_group"
# who sends each message (docs/CONVENTIONS.md "Messages"); any other name: WORKING_GROUP
MESSAGE_SENDERS: dict[str, str] = {"material_supplied": ENTERPRISE, "enterprise_withdraws": ENTERPRISE}


def message_sender(name: str) -> str:
    """``ENTERPRISE`` or ``WORKING_GROUP``: who may send the message ``name``."""
    return MESSAGE_SENDERS.get(name, WORKING_GROUP)


def may_send(principal: Principal, name: str, instance: Instance) -> bool:
    """May the person send the message ``name`` to this case (seeing it is not enough)?"""
    if message_sender(name) == ENTERPRISE:
        return owns_case(principal, instance)
    if principal.is_enterprise:
        return False
    if "wg:city" in principal.groups:
        return True
    county = (instance.summary or {}).get("county")
    return isinstance(county, str) and f"wg:{county}" in principal.groups


def check_may_send(principal: Principal, name: str, instance: Instance) -> None:
    """``NotAllowed`` unless ``may_send``."""
    if not may_send(principal, name, instance):
        who = ("only the enterprise that owns the case" if message_sender(name) == ENTERPRISE
               else "only the working group of the case")
        raise NotAllowed(f"{who} may send the message '{name}'", name=name, sender=message_sender(name))


def visible_cases(principal: Principal):
    """A select of the Instances (cases: those with a business key) the person may see."""
    return select(Instance).where(Instance.business_key.is_not(None), case_filter(principal))


# -- tasks ---------------------------------------------------------------------------------
def in_task_groups(principal: Principal, task: HumanTask) -> bool:
    return bool(principal.groups & set(task.candidate_groups or []))


def can_see_task(principal: Principal, task: HumanTask | None) -> bool:
    """May open the task page (ready tasks only; a finished task is seen on its case)."""
    if task is None or task.state != "ready":
        return False
    return (task.assignee == principal.username or task.delegated_from == principal.username
            or in_task_groups(principal, task))


def visible_task(session: Session, principal: Principal, task_id: int) -> HumanTask:
    """The ready task, with its case, if the person may open it; NotFound otherwise (whether
    it exists is not revealed)."""
    task = session.get(HumanTask, task_id, options=[joinedload(HumanTask.instance)])
    if task is None or not can_see_task(principal, task):
        raise NotFound(f"task {task_id} does not exist")
    return task


def finished_task(session: Session, principal: Principal, task_id: int) -> HumanTask | None:
    """A task that is no longer ready, if it was the person's to work on (offered to one of
    their groups, or held, delegated or completed by them): they are told who finished it
    and when, instead of a 404. None for anyone else (its existence is not revealed)."""
    task = session.get(HumanTask, task_id, options=[joinedload(HumanTask.instance)])
    if task is None or task.state == "ready":
        return None
    if principal.username in (task.assignee, task.delegated_from, task.completed_by) or in_task_groups(principal, task):
        return task
    return None


def can_complete_task(principal: Principal, task: HumanTask) -> bool:
    if task.state != "ready":
        return False
    if task.assignee is not None:
        return task.assignee == principal.username
    return in_task_groups(principal, task)


def task_ids(principal: Principal):
    """The ids of the ready tasks the person may see, as a union of three small indexed sets
    (assigned to them, delegated by them, offered to one of their groups), so a query over
    them costs what the person's own tasks cost, not a scan of every ready task."""
    ready = HumanTask.state == "ready"
    parts = [select(HumanTask.id).where(ready, HumanTask.assignee == principal.username),
             select(HumanTask.id).where(ready, HumanTask.delegated_from == principal.username)]
    if principal.groups:  # human_task_group holds rows of ready tasks only
        parts.append(select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(sorted(principal.groups))))
    return union(*parts)


def task_filter(principal: Principal):
    """A WHERE clause on ``HumanTask``: ready tasks the person may see."""
    return (HumanTask.state == "ready") & HumanTask.id.in_(task_ids(principal))
