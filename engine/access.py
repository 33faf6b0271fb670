"""Who may do what: the one place the access rules are written. Web pages and the JSON API
both call these named rules (and refuse with ``NotAllowed`` / hide with ``NotFound``); nothing
else compares group names.

Groups (docs/CONVENTIONS.md): ``admin``, ``designer``, ``wg:<county>`` (working group),
``leader:<county>``, ``unit:<u>`` (handler), ``head:<u>`` (unit head); ``<county>`` is
``city`` for the city level. Enterprises have ``enterprise:<uscc>``.

Named rules, one purpose each:

- ``sees_all_cases`` — reads every case: ``admin``, ``designer``, ``wg:city``, ``leader:city``
  (``ALL_CASES_GROUPS``). Designers are in it because they maintain the processes: they open
  any case to migrate it to a new version or to look into an incident.
- ``sees_all_statistics`` — the figures of every county: ``admin``, ``wg:city``,
  ``leader:city`` (``ALL_STATISTICS_GROUPS``). Designers are *not* in it: statistics are the
  reporting of working groups and leaders, not a tool of process maintenance (a designer who
  is also in a working group sees that group's statistics). Deliberately a different rule
  from ``sees_all_cases``, kept as it was.
- ``can_see_statistics`` — any statistics at all: admins and the members of a working group or
  of the leaders of any county; ``statistics_scope`` — None (every county) or the counties of
  their ``wg:``/``leader:`` groups. ``check_statistics`` refuses with ``NotAllowed``.
- ``is_admin`` (group ``admin``), ``is_designer`` (``DESIGNER_GROUPS``: ``designer``, ``admin``),
  ``is_working_group_member`` (any ``wg:<county>``): officials only, never an enterprise.
- ``can_see_case`` / ``case_filter`` / ``visible_cases``:

  - everyone of ``sees_all_cases`` sees every case;
  - a county working group ``wg:<county>`` and county leaders ``leader:<county>`` see the
    cases of their county (summary ``county``);
  - handlers and heads of a unit (``unit:<u>``, ``head:<u>``) see the cases where the unit
    leads or cooperates (summary ``lead_unit`` / ``coop_units``);
  - an enterprise sees only its own cases (summary ``uscc`` equal to its code, or cases it
    started itself);
  - anyone sees a case on which they hold, held or delegated a task;
  - a case copied (抄送) to a person or one of their groups is theirs to read only
    (``can_see_case(..., copies=False)`` for anything that acts on it).
- ``sees_internal`` (field visibility) — officials read every answer and internal comment;
  an enterprise reads only fields marked ``"x-visibility": "public"`` and no internal comment.
- ``may_send(message)`` — messages to a case have senders: the enterprise that owns the case
  (it started it, or the case's ``uscc`` is its code) alone sends ``material_supplied`` and
  ``enterprise_withdraws``; every other message is sent by a working group (``wg:city`` for
  any case, ``wg:<county>`` for the cases of its county). Nobody else, whatever they may see.
- ``can_see_task`` / ``can_complete`` — a task is open to a person when it is ready and one of
  its candidate groups is theirs, or it is assigned to them, or they delegated it. Only the
  assignee completes an assigned task; an unassigned one may be completed by any member of
  its groups.
- ``composes_bulletins`` — the city working group (``wg:city``) composes and edits the 专报;
  who reads an issue follows the statistics rules (engine/bulletins.py ``visible``).
- ``check(allowed, what)`` — ``NotAllowed`` unless allowed: the one way to refuse (the web's
  ``security.requires`` decorator and ``security.require`` use it for pages and API alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, CompoundSelect, Select, String, cast, false, or_, select, true, union
from sqlalchemy.orm import Session, joinedload

from .errors import NotAllowed, NotFound
from .models import HumanTask, HumanTaskGroup, Instance, ProcessVersion, User

ALL_CASES_GROUPS = frozenset({"admin", "designer", "wg:city", "leader:city"})
ALL_STATISTICS_GROUPS = frozenset({"admin", "wg:city", "leader:city"})
DESIGNER_GROUPS = frozenset({"designer", "admin"})
ADMIN_GROUPS = frozenset({"admin"})


@dataclass(frozen=True)
class Principal:
    """The person asking, reduced to what access decisions need."""

    username: str
    kind: str = "official"  # official | enterprise | admin
    groups: frozenset[str] = field(default_factory=frozenset)
    uscc: str | None = None

    @classmethod
    def of(cls, user: User) -> Principal:
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
        return sees_all_cases(self)

    def _suffixes(self, *prefixes: str) -> set[str]:
        return {g.split(":", 1)[1] for g in self.groups if g.split(":", 1)[0] in prefixes and ":" in g}

    @property
    def units(self) -> set[str]:
        return self._suffixes("unit", "head")

    @property
    def counties(self) -> set[str]:
        return self._suffixes("wg", "leader") - {"city"}


# -- roles ---------------------------------------------------------------------------------
def check(allowed: bool, what: str, **details: object) -> None:
    """``NotAllowed`` (403 on a page and in the API) unless ``allowed``; ``what`` says who may."""
    if not allowed:
        raise NotAllowed(what, **details)


def _official_in(principal: Principal | None, groups: frozenset[str]) -> bool:
    return principal is not None and not principal.is_enterprise and bool(principal.groups & groups)


def sees_all_cases(principal: Principal) -> bool:
    """Reads every case (``ALL_CASES_GROUPS``; see the module docstring)."""
    return _official_in(principal, ALL_CASES_GROUPS)


def is_admin(principal: Principal | None) -> bool:
    return _official_in(principal, ADMIN_GROUPS)


def is_designer(principal: Principal | None) -> bool:
    """Deploys and maintains processes (``DESIGNER_GROUPS``)."""
    return _official_in(principal, DESIGNER_GROUPS)


def is_working_group_member(principal: Principal | None) -> bool:
    """In the working group of the city or of a county (``wg:<county>``)."""
    return principal is not None and not principal.is_enterprise and any(g.startswith("wg:") for g in principal.groups)


def sees_internal(principal: Principal) -> bool:
    """Field visibility: officials read every answer and internal comment; an enterprise only
    the fields marked public."""
    return not principal.is_enterprise


# -- statistics ----------------------------------------------------------------------------
def can_see_statistics(principal: Principal | None) -> bool:
    """Any statistics: admins, and members of a working group or of the leaders of a county."""
    if principal is None or principal.is_enterprise:
        return False
    return any(g == "admin" or g.startswith(("wg:", "leader:")) for g in principal.groups)


def composes_bulletins(principal: Principal | None) -> bool:
    """The city working group writes the 专报 (numbered bulletins)."""
    return _official_in(principal, frozenset({"wg:city"}))


def follows_decision_items(principal: Principal | None) -> bool:
    """The 议定事项 board in the navigation: the people statistics are for (working groups,
    leaders, admins); everyone sees the items of the cases they may see."""
    return can_see_statistics(principal)


def sees_all_statistics(principal: Principal) -> bool:
    """The figures of every county (``ALL_STATISTICS_GROUPS``; see the module docstring)."""
    return _official_in(principal, ALL_STATISTICS_GROUPS)


def statistics_scope(principal: Principal) -> set[str] | None:
    """None: every county; else the counties the person's statistics are limited to (empty:
    none at all)."""
    if principal.is_enterprise:
        return set()
    if sees_all_statistics(principal):
        return None
    return set(principal.counties)


def check_statistics(principal: Principal) -> None:
    check(can_see_statistics(principal), "only working groups, leaders and admins may read statistics")


# -- cases ---------------------------------------------------------------------------------
def _task_of(principal: Principal) -> ColumnElement[bool]:
    """Tasks the person holds, held or delegated (or that wait for one of their groups)."""
    mine = [
        HumanTask.assignee == principal.username,
        HumanTask.completed_by == principal.username,
        HumanTask.delegated_from == principal.username,
    ]
    if principal.groups:  # (a completed task's group rows wait for the worker's prune: ready only)
        mine.append(
            (HumanTask.state == "ready")
            & HumanTask.id.in_(select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(sorted(principal.groups))))
        )
    return or_(*mine)


def _participation(principal: Principal) -> Select[int]:
    """Instance ids where the person holds, held or delegated a task."""
    return select(HumanTask.instance_id).where(_task_of(principal))


def case_filter(principal: Principal) -> ColumnElement[bool]:
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


def _copies(principal: Principal, instance_id: int | None = None) -> Select[int]:
    """Instance ids copied (抄送) to the person or one of their groups: read-only."""
    from .models import CaseCopy

    stmt = select(CaseCopy.instance_id).where(
        or_(CaseCopy.recipient == principal.username, CaseCopy.group.in_(sorted(principal.groups)))
    )
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
    if (
        session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id, _task_of(principal)).limit(1))
        is not None
    ):
        return True
    return copies and session.scalar(_copies(principal, instance.id).limit(1)) is not None


def owns_case(principal: Principal, instance: Instance) -> bool:
    """The enterprise that started the case or whose credit code the case carries."""
    if not principal.is_enterprise:
        return False
    summary = instance.summary or {}
    return instance.started_by == principal.username or (
        principal.uscc is not None and summary.get("uscc") == principal.uscc
    )


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
    who = (
        "only the enterprise that owns the case"
        if message_sender(name) == ENTERPRISE
        else "only the working group of the case"
    )
    check(
        may_send(principal, name, instance),
        f"{who} may send the message '{name}'",
        name=name,
        sender=message_sender(name),
    )


def visible_cases(principal: Principal) -> Select[Instance]:
    """A select of the Instances (cases: those with a business key) the person may see."""
    return select(Instance).where(Instance.business_key.is_not(None), case_filter(principal))


# -- tasks ---------------------------------------------------------------------------------
def in_task_groups(principal: Principal, task: HumanTask) -> bool:
    return bool(principal.groups & set(task.candidate_groups or []))


def can_see_task(principal: Principal, task: HumanTask | None) -> bool:
    """May open the task page (ready tasks only; a finished task is seen on its case)."""
    if task is None or task.state != "ready":
        return False
    return (
        task.assignee == principal.username
        or task.delegated_from == principal.username
        or in_task_groups(principal, task)
    )


def visible_task(session: Session, principal: Principal, task_id: int) -> HumanTask:
    """The ready task, with its case, if the person may open it; NotFound otherwise (whether
    it exists is not revealed). One query loads what opening or completing it reads: the task,
    its case, the case's version (without its files) and its case_record (issue 18)."""
    case = joinedload(HumanTask.instance)
    task = session.get(
        HumanTask,
        task_id,
        options=[
            case.joinedload(Instance.process_version).defer(ProcessVersion.files),
            case.joinedload(Instance.case_record),
        ],
    )
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


def can_complete(principal: Principal, task: HumanTask) -> bool:
    """May complete the ready task: its assignee, or (unassigned) a member of its groups."""
    if task.state != "ready":
        return False
    if task.assignee is not None:
        return task.assignee == principal.username
    return in_task_groups(principal, task)


can_complete_task = can_complete  # the older name


def task_ids(principal: Principal) -> CompoundSelect[int]:
    """The ids of the ready tasks the person may see, as a union of three small indexed sets
    (assigned to them, delegated by them, offered to one of their groups), so a query over
    them costs what the person's own tasks cost, not a scan of every ready task."""
    ready = HumanTask.state == "ready"
    parts = [
        select(HumanTask.id).where(ready, HumanTask.assignee == principal.username),
        select(HumanTask.id).where(ready, HumanTask.delegated_from == principal.username),
    ]
    if principal.groups:  # (task_filter keeps the ready ones: rows of completed tasks wait for the worker's prune)
        parts.append(select(HumanTaskGroup.task_id).where(HumanTaskGroup.group.in_(sorted(principal.groups))))
    return union(*parts)


def task_filter(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``HumanTask``: ready tasks the person may see."""
    return (HumanTask.state == "ready") & HumanTask.id.in_(task_ids(principal))
