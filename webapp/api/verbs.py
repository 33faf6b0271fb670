"""The office verbs on the API (engine/office_verbs.py, engine/recall.py, engine/sendback.py): 退回, 撤回, 催办 a task, 抄送 a case, the cases
copied to the caller (抄送我的), and the caller's 常用意见 (phrases)."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from engine import office_verbs, sendback
from engine import recall as recall_mod
from engine.errors import NotFound
from engine.models import HumanTask

from ..context import get_db, get_engine
from .cases import visible_case
from .common import BIG_ID, api_blueprint
from .schemas import Text

blp = api_blueprint(
    "office_verbs",
    "/office",
    "Office verbs: 退回 (send back), 撤回 (recall), 催办 (urge), 抄送 (copy a case), 常用意见 (phrases)",
)


class UrgeBody(Schema):
    message = Text(500, load_default="")


class UrgeResultSchema(Schema):
    task_id = fields.Integer(required=True)
    urged_at = fields.DateTime(required=True)
    urged_by = fields.String(required=True)


class RecallSchema(Schema):
    task_id = fields.Integer(required=True)
    state = fields.String(required=True)
    assignee = fields.String(required=True)


class SendBackBody(Schema):
    target_task_id = fields.Integer(
        required=True,
        validate=lambda v: 0 < v < 2**62,
        metadata={"description": "a completed task of the case (see send-back-targets)"},
    )
    reason = Text(500, required=True, metadata={"description": "shown to the receiver; required"})


class SendBackTargetSchema(Schema):
    task_id = fields.Integer(required=True)
    name = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    done_by = fields.String(allow_none=True)
    done_at = fields.DateTime(allow_none=True)


class SendBackSchema(Schema):
    task_id = fields.Integer(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class CopyBody(Schema):
    to_user = Text(100, metadata={"description": "an official's user name (or to_group)"})
    to_group = Text(200, metadata={"description": "a group: wg:…, leader:…, unit:…, head:…"})
    note = Text(500, load_default="")


class CopySchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    case_no = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    recipient = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    copied_by = fields.String(required=True)
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class PhraseBody(Schema):
    text = Text(500, required=True)


class PhraseSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)


def _copy_dict(copy, instance=None) -> dict:
    summary = (instance.summary or {}) if instance is not None else {}
    return {
        "id": copy.id,
        "instance_id": copy.instance_id,
        "case_no": summary.get("case_no"),
        "title": summary.get("title"),
        "recipient": copy.recipient,
        "group": copy.group,
        "copied_by": copy.copied_by,
        "note": copy.note,
        "created_at": copy.created_at,
    }


@blp.route(f"/tasks/<{BIG_ID}:task_id>/urge", methods=["POST"])
@blp.arguments(UrgeBody, as_kwargs=False)
@blp.response(200, UrgeResultSchema)
def urge(body, task_id: int):
    """催办: notify the task's holder (assignee, else its groups), audited; 409 if urged a moment ago."""
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    visible_case(task.instance_id)
    task = office_verbs.urge(get_db(), g.principal, task_id, body.get("message") or "")
    return {"task_id": task.id, "urged_at": task.urged_at, "urged_by": task.urged_by}


@blp.route(f"/tasks/<{BIG_ID}:task_id>/recall", methods=["POST"])
@blp.response(200, RecallSchema)
def recall(task_id: int):
    """撤回: the doer takes a completion back while the next task is unclaimed (409 with the reason
    otherwise: claimed, moved_on, ended, gone); the task is theirs again, input as draft."""
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    visible_case(task.instance_id)
    row = recall_mod.recall(get_db(), get_engine(), g.principal, task_id)
    return {"task_id": row.id, "state": row.state, "assignee": row.assignee}


def _open_task(task_id: int) -> HumanTask:
    task = get_db().get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    visible_case(task.instance_id)
    return task


@blp.route(f"/tasks/<{BIG_ID}:task_id>/send-back-targets", methods=["GET"])
@blp.response(200, SendBackTargetSchema(many=True))
def send_back_targets(task_id: int):
    """退回: the earlier steps the caller may return this open task to, newest first (empty when
    they may not return it)."""
    task = _open_task(task_id)
    return [vars(t) for t in sendback.targets(get_db(), get_engine(), g.principal, task)]


@blp.route(f"/tasks/<{BIG_ID}:task_id>/send-back", methods=["POST"])
@blp.arguments(SendBackBody, as_kwargs=False)
@blp.response(200, SendBackSchema)
def send_back(body, task_id: int):
    """退回: return the case from this open task to an earlier step it passed through, with a
    required reason (the working group; a unit head within their unit). The step is ready again
    for its former doer, their answers as its draft, a fresh due date; 409 with the reason
    otherwise: not_open, not_a_target, gone (compacted out of the case's state)."""
    _open_task(task_id)
    row = sendback.send_back(get_db(), get_engine(), g.principal, task_id, body["target_task_id"], body["reason"])
    return {"task_id": row.id, "name": row.name, "state": row.state, "assignee": row.assignee, "due_at": row.due_at}


@blp.route(f"/cases/<{BIG_ID}:case_id>/copies", methods=["POST"])
@blp.arguments(CopyBody, as_kwargs=False)
@blp.response(201, CopySchema)
def copy(body, case_id: int):
    """抄送: give a person or a group read-only access to the case, with a notification."""
    instance = visible_case(case_id)
    made = office_verbs.copy_case(
        get_db(),
        g.principal,
        instance,
        to_user=body.get("to_user") or None,
        to_group=body.get("to_group") or None,
        note=body.get("note") or "",
    )
    return _copy_dict(made, instance)


@blp.route("/copied", methods=["GET"])
@blp.response(200, CopySchema(many=True))
def copied():
    """抄送我的: cases copied to the caller or one of their groups, newest first."""
    return [_copy_dict(c, i) for c, i in office_verbs.copied_to_me(get_db(), g.principal)]


@blp.route("/phrases", methods=["GET"])
@blp.response(200, PhraseSchema(many=True))
def phrases():
    """The caller's 常用意见."""
    return office_verbs.phrases(get_db(), g.principal)


@blp.route("/phrases", methods=["POST"])
@blp.arguments(PhraseBody, as_kwargs=False)
@blp.response(201, PhraseSchema)
def add_phrase(body):
    return office_verbs.add_phrase(get_db(), g.principal, body["text"])


@blp.route(f"/phrases/<{BIG_ID}:phrase_id>", methods=["DELETE"])
@blp.response(204)
def delete_phrase(phrase_id: int):
    office_verbs.delete_phrase(get_db(), g.principal, phrase_id)
