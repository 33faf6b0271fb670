"""marshmallow schemas of the JSON API's task and case endpoints (webapp/api/tasks.py,
webapp/api/cases.py): task lists and details, bulk actions and completion, case search,
submission, timeline and dossier. Same conventions as ``schemas.py``, whose shared pieces
(pagination, ``Text``, ``TaskRefSchema``) they build on."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .schemas import MAX_PER_PAGE, PageArgs, PageMetaSchema, TaskRefSchema, Text


# -- tasks -----------------------------------------------------------------------------------
class TaskArgs(PageArgs):
    tab = fields.String(load_default="all", validate=validate.OneOf(["all", "mine", "group", "delegated"]))
    category = Text(100)
    county = Text(100)
    mode = Text(100)
    overdue = fields.Boolean(load_default=False)
    due_within_days = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={"description": "due by the end of the N-th working day from today"},
    )
    due_today = fields.Boolean(load_default=False, metadata={"description": "due today (今日到期)"})
    q = Text(
        200,
        metadata={
            "description": "words of the case (number, enterprise, title, description, contact, "
            "unit result) or the task's name"
        },
    )
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "created"]))


class TaskSchema(TaskRefSchema):
    instance_id = fields.Integer(required=True)
    case_no = fields.String(required=True, allow_none=True)
    process_id = fields.String(required=True)
    lane = fields.String(required=True, allow_none=True)
    state = fields.String(required=True)
    form = fields.String(required=True, allow_none=True)
    delegated_from = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    marker = fields.String(
        required=True, allow_none=True, metadata={"description": "deadline marker: yellow, red or null"}
    )
    days_left = fields.Integer(
        allow_none=True,
        metadata={"description": "working days to the deadline (0: due today; negative: working days overdue)"},
    )
    summary = fields.Dict(required=True)


class TaskDetailSchema(TaskSchema):
    may_complete = fields.Boolean(required=True)
    form_schema = fields.Dict(required=True, allow_none=True, metadata={"description": "JSON Schema of the form"})
    ui_schema = fields.Dict(required=True, allow_none=True)
    draft = fields.Dict(required=True, allow_none=True)


class BulkBody(Schema):
    action = fields.String(
        required=True,
        validate=validate.OneOf(["claim", "assign", "transfer"]),
        metadata={"description": "claim; assign (a free task or mine); transfer (a head of the unit, or the holder)"},
    )
    task_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)),
        required=True,
        validate=validate.Length(min=1, max=200),
    )
    to = Text(100, metadata={"description": "the colleague (user name) for assign and transfer"})


class BulkFailureSchema(Schema):
    id = fields.Integer(required=True)
    message = fields.String(required=True)


class BulkResultSchema(Schema):
    done = fields.List(fields.Integer(), required=True)
    failed = fields.List(fields.Nested(BulkFailureSchema), required=True)


class CompleteBody(Schema):
    data = fields.Dict(
        keys=fields.String(validate=validate.Length(max=200)),
        load_default=dict,
        metadata={"description": "the form's values (validated against its JSON Schema)"},
    )


# -- cases -----------------------------------------------------------------------------------
class CaseArgs(PageArgs):
    q = Text(
        200,
        metadata={
            "description": "words the case contains: number, enterprise, credit code, title, "
            "description, contact, units' results"
        },
    )
    category = Text(100)
    county = Text(100)
    status = Text(100, metadata={"description": "running/completed/error or a Chinese status label"})
    overdue = fields.Boolean(load_default=False)
    sort = fields.String(load_default="updated", validate=validate.OneOf(["updated", "deadline", "created"]))


class CaseBody(Schema):
    data = fields.Dict(
        keys=fields.String(validate=validate.Length(max=200)),
        required=True,
        metadata={"description": "the submission form's values (case-submit.schema.json)"},
    )


class TimelineItemSchema(Schema):
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    task_name = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True, allow_none=True)
    comment = fields.String(required=True, allow_none=True)


class DossierArgs(PageArgs):
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    order = fields.String(
        load_default="oldest",
        validate=validate.OneOf(["oldest", "newest"]),
        metadata={"description": "oldest first (the submission on page 1) or newest first"},
    )


class DossierAnswerSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "the field's title in the caller's language"})
    public = fields.Boolean(required=True, metadata={"description": "visible to the enterprise"})
    value = fields.Raw(required=True, metadata={"description": "the stored value"})
    display = fields.String(required=True, metadata={"description": "the value as shown (option titles, names)"})


class DossierStepSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "submission | task | message"})
    step_id = fields.String(required=True)
    name = fields.String(required=True)
    actor = fields.String(required=True)
    at = fields.DateTime(required=True)
    round = fields.Integer(required=True)
    groups = fields.List(fields.String(), required=True)
    group_names = fields.String(required=True)
    answers = fields.List(fields.Nested(DossierAnswerSchema), required=True)


class DossierSchema(Schema):
    case_id = fields.Integer(required=True)
    case_no = fields.String(required=True, allow_none=True)
    steps = fields.List(fields.Nested(DossierStepSchema), required=True)
    page = fields.Nested(PageMetaSchema, required=True, metadata={"description": "total: every step of the case"})
