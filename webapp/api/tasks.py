"""Tasks: the caller's inbox with filters, one task with its form, claim, unclaim, complete."""

from __future__ import annotations

from flask import g

from engine import access, inbox
from engine.errors import Conflict, NotAllowed, NotFound
from engine.models import HumanTask

from ..context import get_db, get_engine
from .case_schemas import BulkBody, BulkResultSchema, CompleteBody, TaskArgs, TaskDetailSchema, TaskSchema
from .common import BIG_ID, api_blueprint, page_of_list
from .instances import instance_detail
from .schemas import InstanceDetailSchema, page_of

blp = api_blueprint("tasks", "/tasks", "Ready tasks the caller may work on: inbox, claim, unclaim, complete")


def task_dict(task: HumanTask, marker: str | None = None, days_left: int | None = None) -> dict:
    return {
        "id": task.id,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "candidate_groups": task.candidate_groups or [],
        "assignee": task.assignee,
        "due_at": task.due_at,
        "deadline_provisional": bool(task.due_provisional),
        "instance_id": task.instance_id,
        "case_no": task.instance.business_key,
        "process_id": task.process_id,
        "lane": task.lane,
        "state": task.state,
        "form": task.form,
        "delegated_from": task.delegated_from,
        "created_at": task.created_at,
        "marker": marker,
        "days_left": days_left,
        "summary": task.instance.summary or {},
    }


def visible_task(task_id: int) -> HumanTask:
    """The task if the caller may open it; 409 (who finished it, when) if it was theirs to work
    on and is finished; 404 otherwise (existence is not revealed)."""
    try:
        return access.visible_task(get_db(), g.principal, task_id)
    except NotFound:
        finished = access.finished_task(get_db(), g.principal, task_id)
        if finished is None:
            raise
        raise finished_conflict(finished) from None


def finished_conflict(task: HumanTask) -> Conflict:
    if task.state == "completed":
        return Conflict(
            f"task {task.id} was already completed by {task.completed_by} at "
            f"{task.completed_at.isoformat() if task.completed_at else '?'}",
            state=task.state,
            completed_by=task.completed_by,
            completed_at=task.completed_at.isoformat() if task.completed_at else None,
        )
    return Conflict(f"task {task.id} is {task.state}: the case moved on", state=task.state)


@blp.route("")
@blp.arguments(TaskArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(TaskSchema))
def list_tasks(args):
    """Ready tasks the caller may work on (tab all/mine/group/delegated), with filters."""
    engine = get_engine()
    filters = inbox.InboxFilter(
        tab=args["tab"],
        category=args.get("category"),
        county=args.get("county"),
        mode=args.get("mode"),
        overdue=args["overdue"],
        due_within_days=args.get("due_within_days"),
        due_today=args["due_today"],
        q=args.get("q") or None,
        sort=args["sort"],
        limit=args["page"] * args["per_page"],
    )
    page = inbox.inbox(get_db(), g.principal, filters, calendar=engine.calendar, now=engine.clock.now())
    result = page_of_list([task_dict(r.task, r.marker, r.days_left) for r in page.rows], args)
    result["page"]["total"] = page.counts.get(args["tab"], len(page.rows))
    return result


@blp.route("/bulk", methods=["POST"])
@blp.arguments(BulkBody, as_kwargs=False)
@blp.response(200, BulkResultSchema)
def bulk(body):
    """Claim, assign or transfer many tasks at once; each is checked and audited on its own, and
    those that cannot be handed over are listed with the reason (the others go ahead)."""
    result = inbox.bulk(get_db(), g.principal, body["action"], body["task_ids"], body.get("to") or None)
    return {"done": result.done, "failed": [{"id": i, "message": m} for i, m in result.failed.items()]}


@blp.route(f"/<{BIG_ID}:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id: int):
    """One ready task with its form (JSON Schema, UI schema) and saved draft."""
    task = visible_task(task_id)
    schema, ui = get_engine().form_of(task)
    return {
        **task_dict(task),
        "may_complete": access.can_complete_task(g.principal, task),
        "form_schema": schema,
        "ui_schema": ui,
        "draft": task.draft,
    }


@blp.route(f"/<{BIG_ID}:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
def claim(task_id: int):
    """Take a task of one's groups (it becomes one's own)."""
    visible_task(task_id)
    return task_dict(inbox.claim(get_db(), g.principal, task_id))


@blp.route(f"/<{BIG_ID}:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema)
def unclaim(task_id: int):
    """Give a claimed task back to its groups."""
    visible_task(task_id)
    return task_dict(inbox.unclaim(get_db(), g.principal, task_id))


@blp.route(f"/<{BIG_ID}:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteBody, as_kwargs=False)
@blp.response(200, InstanceDetailSchema)
def complete(body, task_id: int):
    """Complete a task with its form's values; 422 with a message per field when they do not validate."""
    task = visible_task(task_id)
    if not access.can_complete_task(g.principal, task):
        raise NotAllowed(f"task {task_id} is claimed by {task.assignee}", assignee=task.assignee)
    try:
        instance = get_engine().complete_task(get_db(), task_id, body.get("data") or {}, g.user.username)
    except Conflict as exc:  # another request committed first (optimistic lock): say who, if it was that
        db = get_db()
        db.rollback()
        fresh = db.get(HumanTask, task_id, populate_existing=True)
        if fresh is not None and fresh.state != "ready":
            raise finished_conflict(fresh) from None
        raise exc from None
    return instance_detail(instance)
