"""Process instances: start, state, history, and which activities are done and current."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from engine import access, casefiles, incidents
from engine.errors import NotFound
from engine.models import AuditEntry, Instance

from ..context import get_db, get_engine
from ..security import require
from .common import BIG_ID, api_blueprint, paginate
from .schemas import (
    ActivitiesSchema,
    AdminActionBody,
    HistoryEntrySchema,
    InstanceArgs,
    InstanceDetailSchema,
    InstanceSchema,
    PageArgs,
    StartBody,
    page_of,
)

blp = api_blueprint("instances", "/instances", "Process instances: start, state, history, done and current activities")


def visible_instance(instance_id: int) -> Instance:
    """The instance if the caller may see it; 404 otherwise (existence is not revealed)."""
    instance = get_db().get(Instance, instance_id)
    if instance is None or not access.can_see_case(get_db(), g.principal, instance):
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def task_ref(task) -> dict:
    return {
        "id": task.id,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "candidate_groups": task.candidate_groups or [],
        "assignee": task.assignee,
        "due_at": task.due_at,
        "deadline_provisional": bool(task.due_provisional),
    }


def instance_dict(instance: Instance) -> dict:
    return {
        "id": instance.id,
        "process_id": instance.process_id,
        "version": instance.process_version.version,
        "business_key": instance.business_key,
        "status": instance.status,
        "summary": instance.summary or {},
        "error": instance.error,
        "started_by": instance.started_by,
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
        "ended_at": instance.ended_at,
        "lock_version": instance.lock_version,
        "deadline_provisional": bool((instance.summary or {}).get("deadline_provisional")),
    }


def instance_detail(instance: Instance) -> dict:
    detail = instance_dict(instance)
    detail["ready_tasks"] = [task_ref(t) for t in get_engine().ready_tasks(get_db(), instance.id)]
    return detail


@blp.route("")
@blp.arguments(InstanceArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(InstanceSchema))
def list_instances(args):
    """Instances the caller may see, the most recently changed first."""
    stmt = select(Instance).where(access.case_filter(g.principal))
    if args.get("process_id"):
        stmt = stmt.where(Instance.process_id == args["process_id"])
    if args.get("status"):
        stmt = stmt.where(Instance.status == args["status"])
    return paginate(get_db(), stmt.order_by(Instance.updated_at.desc(), Instance.id.desc()), args, instance_dict)


@blp.route("", methods=["POST"])
@blp.arguments(StartBody, as_kwargs=False)
@blp.response(201, InstanceDetailSchema)
def start(body):
    """Start an instance of a deployed process (designers and admins; cases: POST /cases)."""
    require(access.is_designer, "only admin, designer may start process instances")
    instance = get_engine().start(
        get_db(),
        body["process_id"],
        body.get("data") or {},
        version=body.get("version"),
        actor=g.user.username,
        business_key=body.get("business_key"),
    )
    return instance_detail(instance)


@blp.route(f"/<{BIG_ID}:instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id: int):
    """State of an instance: status, summary, error, ready tasks."""
    return instance_detail(visible_instance(instance_id))


@blp.route(f"/<{BIG_ID}:instance_id>/history")
@blp.arguments(PageArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(HistoryEntrySchema))
def history(args, instance_id: int):
    """The audit entries of an instance, oldest first."""
    instance = visible_instance(instance_id)
    stmt = select(AuditEntry).where(AuditEntry.instance_id == instance.id).order_by(AuditEntry.id)
    page = paginate(get_db(), stmt, args)
    shown = enterprise_data(instance)
    if shown is not None:  # an enterprise reads public answers only (issue 14)
        page["items"] = [{**_entry_dict(e), "data": shown.get(e.id)} for e in page["items"]]
    return page


def enterprise_data(instance: Instance) -> dict[int, dict] | None:
    """For an enterprise: audit entry id → its public data (internal notes never leave);
    None for officials, who see all of it."""
    if access.sees_internal(g.principal):
        return None
    from engine.dossier import public_entry_data

    from ..dossierview import register_message_forms

    register_message_forms()
    return public_entry_data(get_db(), get_engine(), instance)


def _entry_dict(entry) -> dict:
    return {k: getattr(entry, k) for k in ("id", "at", "actor", "action", "task_bpmn_id", "task_name")}


@blp.route(f"/<{BIG_ID}:instance_id>/activities")
@blp.response(200, ActivitiesSchema)
def activities(instance_id: int):
    """BPMN ids of the activities that are done and of those that are current."""
    state = casefiles.diagram_state(get_engine(), get_db(), visible_instance(instance_id))
    return {"completed": state.completed, "current": state.current, "counts": state.counts}


# -- the admin's levers (engine/incidents.py; each writes its audit entry) ------------------
def _admin_instance(instance_id: int) -> Instance:
    require(access.is_admin, "only admin may suspend, resume or terminate instances")
    return visible_instance(instance_id)


@blp.route(f"/<{BIG_ID}:instance_id>/suspend", methods=["POST"])
@blp.arguments(AdminActionBody, as_kwargs=False)
@blp.response(200, InstanceDetailSchema)
def suspend(body, instance_id: int):
    """Hold a running instance: no timer fires, no task completes, no message is accepted (admins)."""
    instance = _admin_instance(instance_id)
    return instance_detail(incidents.suspend(get_db(), get_engine(), instance.id, g.user.username, body["reason"]))


@blp.route(f"/<{BIG_ID}:instance_id>/resume", methods=["POST"])
@blp.response(200, InstanceDetailSchema)
def resume(instance_id: int):
    """Let a suspended instance go on (admins)."""
    instance = _admin_instance(instance_id)
    return instance_detail(incidents.resume(get_db(), get_engine(), instance.id, g.user.username))


@blp.route(f"/<{BIG_ID}:instance_id>/terminate", methods=["POST"])
@blp.arguments(AdminActionBody, as_kwargs=False)
@blp.response(200, InstanceDetailSchema)
def terminate(body, instance_id: int):
    """End a running, suspended or failed instance for good; its open tasks are cancelled (admins)."""
    instance = _admin_instance(instance_id)
    return instance_detail(incidents.terminate(get_db(), get_engine(), instance.id, g.user.username, body["reason"]))
