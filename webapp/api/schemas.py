"""marshmallow schemas of the JSON API: query arguments, request bodies and responses are
separate classes (``…Args``, ``…Body``, the rest are responses).

This module holds the shared pieces (the error shape, pagination, ``Text``/``Id``) and the
schemas of process definitions, instances, messages, incidents, statistics and tokens; the
schemas of the caseworkers' tasks and cases are in ``case_schemas.py``."""

from __future__ import annotations

import datetime as _dt

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MAX_PER_PAGE = 100
MAX_PAGE = 10_000
Text = lambda n, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
Id = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=1, max=2**53), **kw)  # noqa: E731


# -- the one error shape -----------------------------------------------------------------------
class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable error code", "example": "not_found"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for people"})
    details = fields.Dict(
        required=True,
        metadata={
            "description": "more about it: `fields` (field → message) for validation errors, `problems` "
            "for process files, `allowed` methods for 405 …"
        },
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# -- pagination ------------------------------------------------------------------------------
class PageArgs(Schema):
    # query strings are text: integers are parsed non-strictly here ("2.5" is still refused);
    # integers in JSON bodies are strict (a non-strict Integer would truncate 2.5 to 2)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageMetaSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


_PAGES: dict[str, type[Schema]] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """The list envelope ``{"items": [...], "page": {page, per_page, total}}`` of one item schema."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _PAGES:
        _PAGES[name] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item), required=True),
                "page": fields.Nested(PageMetaSchema, required=True),
            },
        )
    return _PAGES[name]


# -- process definitions ---------------------------------------------------------------------
class DefinitionArgs(PageArgs):
    q = Text(200, metadata={"description": "part of the process id or name"})


class VersionSchema(Schema):
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    flavor = fields.String(required=True)
    content_hash = fields.String(required=True)
    main_file = fields.String(required=True)
    files = fields.List(fields.String(), required=True, metadata={"description": "names of the files of the version"})
    deployment_id = fields.Integer(required=True)
    deployed_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    origin = fields.String(required=True, metadata={"description": "files | web | api"})
    base_version = fields.Integer(
        allow_none=True, metadata={"description": "the version a web/API deploy was based on"}
    )


class DeployFilesArgs(Schema):
    files = fields.List(
        fields.Raw(metadata={"type": "string", "format": "binary"}),
        required=True,
        metadata={"description": "*.bpmn, *.dmn and form *.json files (one part per file)"},
    )


class DeployResultSchema(Schema):
    deployment_id = fields.Integer(required=True, allow_none=True)
    created = fields.List(fields.Nested(lambda: ProcessVersionRefSchema()), required=True)
    unchanged = fields.List(fields.Nested(lambda: ProcessVersionRefSchema()), required=True)


class ProcessVersionRefSchema(Schema):
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)


# -- instances -------------------------------------------------------------------------------
class InstanceArgs(PageArgs):
    process_id = Text(200)
    status = fields.String(validate=validate.OneOf(["running", "completed", "error", "suspended", "terminated"]))


class StartBody(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    business_key = fields.String(validate=validate.Length(min=1, max=100))
    data = fields.Dict(keys=fields.String(validate=validate.Length(max=200)), load_default=dict)


class TaskRefSchema(Schema):
    id = fields.Integer(required=True)
    bpmn_id = fields.String(required=True)
    name = fields.String(required=True)
    candidate_groups = fields.List(fields.String(), required=True)
    assignee = fields.String(required=True, allow_none=True)
    due_at = fields.DateTime(required=True, allow_none=True)
    deadline_provisional = fields.Boolean(
        required=True,
        metadata={
            "description": "true when due_at was computed over a year without an official holiday calendar (临时时限)"
        },
    )


class InstanceSchema(Schema):
    id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    summary = fields.Dict(required=True)
    error = fields.Dict(required=True, allow_none=True)
    started_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(required=True, allow_none=True)
    lock_version = fields.Integer(required=True)
    deadline_provisional = fields.Boolean(
        required=True,
        metadata={
            "description": "true when the summary's deadline was computed over a year without an official calendar"
        },
    )


class InstanceDetailSchema(InstanceSchema):
    ready_tasks = fields.List(fields.Nested(TaskRefSchema), required=True)


class HistoryEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    task_bpmn_id = fields.String(required=True, allow_none=True)
    task_name = fields.String(required=True, allow_none=True)
    data = fields.Raw(required=True, allow_none=True, metadata={"description": "what the action carried"})


class ActivitiesSchema(Schema):
    completed = fields.List(fields.String(), required=True, metadata={"description": "BPMN ids of finished elements"})
    current = fields.List(
        fields.String(), required=True, metadata={"description": "BPMN ids of ready or waiting elements"}
    )
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "activities completed more than once: how often (from the history)"},
    )


# -- messages --------------------------------------------------------------------------------
class MessageBody(Schema):
    case_no = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    payload = fields.Dict(keys=fields.String(validate=validate.Length(max=200)), load_default=dict)


# -- incidents -------------------------------------------------------------------------------
class IncidentArgs(PageArgs):
    process_id = Text(200)


class IncidentSchema(Schema):
    instance_id = fields.Integer(required=True)
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(required=True, allow_none=True)
    summary = fields.Dict(required=True)
    element_id = fields.String(required=True, allow_none=True)
    element_name = fields.String(required=True, allow_none=True)
    message = fields.String(required=True)
    at = fields.String(required=True, allow_none=True)


class IncidentDetailSchema(IncidentSchema):
    data = fields.Dict(required=True, metadata={"description": "the data of the failed task"})


class IncidentDataBody(Schema):
    set = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), load_default=dict)
    remove = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)


class AdminActionBody(Schema):
    reason = Text(1000, load_default="", metadata={"description": "why (kept in the audit entry)"})


# -- statistics ------------------------------------------------------------------------------
_DAYS = validate.Range(min=_dt.date(2000, 1, 1), max=_dt.date(2100, 12, 31))


class StatisticsArgs(Schema):
    start = fields.Date(
        data_key="from",
        load_default=None,
        validate=_DAYS,
        metadata={"description": "first day of the period (Beijing date), inclusive; 2000–2100"},
    )
    end = fields.Date(
        data_key="to",
        load_default=None,
        validate=_DAYS,
        metadata={"description": "last day of the period (Beijing date), inclusive; 2000–2100"},
    )
    county = Text(
        100,
        load_default=None,
        metadata={"description": "a county code; people of a county get their county whatever they ask"},
    )

    @validates_schema
    def _ordered(self, data, **_kw):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("the period ends before it starts", field_name="to")


class StatisticsPeriodSchema(Schema):
    start = fields.String(data_key="from", metadata={"description": "ISO date; absent: no lower bound"})
    end = fields.String(data_key="to", metadata={"description": "ISO date; absent: no upper bound"})


class BulletinCountSchema(Schema):
    name = fields.String(required=True)
    issued = fields.Integer(required=True)


_Counts = lambda description: fields.Dict(  # noqa: E731
    keys=fields.String(),
    values=fields.Integer(),
    required=True,  # noqa: E731
    metadata={"description": description},
)


class StatisticsSchema(Schema):
    """The figures of the statistics dashboard (/stats), computed by engine.stats.dashboard."""

    period = fields.Nested(StatisticsPeriodSchema, required=True)
    county = fields.String(required=True, allow_none=True, metadata={"description": "null: every county"})
    totals = _Counts(
        "cases received in the period (received, accepted, rejected, withdrawn, open, overdue, "
        "overdue_now, escalated), closed in it (closed, solved, handled, on_time), distinct "
        "enterprises, unit coordinations, awaiting_intake (open and not accepted yet)"
    )
    by_category = _Counts("cases received, per category")
    by_county = _Counts("cases received, per county")
    by_mode = _Counts("cases received, per handling mode (马上办/快速办/监督办)")
    by_unit = _Counts("cases received, per lead unit")
    rates = fields.Dict(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        required=True,
        metadata={
            "description": "on_time, satisfaction, reopen (0…1) and workdays_to_close; null when nothing to divide"
        },
    )
    leader_modes = _Counts("escalated cases per leader mode (签批督办/专题会议/现场办公)")
    bulletins = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(BulletinCountSchema),
        required=True,
        metadata={"description": "专报 issued in the period, per series"},
    )
    records = _Counts("work records (and weekly reports) in the period, per kind")
    open_tasks = fields.Integer(required=True, metadata={"description": "ready tasks the caller may work on"})
    incidents = fields.Integer(required=True, allow_none=True, metadata={"description": "admins only"})


# -- tokens ----------------------------------------------------------------------------------
class TokenBody(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "the secret; shown this once only"})
