"""议定事项 on the API: the decision items of 专题会议 / 现场办公 across the cases the caller may
see (engine/decision_items.py), with the board page's filters."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from engine import decision_items
from engine.errors import NotAllowed

from ..context import get_db, get_engine
from .common import api_blueprint, page_of_list
from .schemas import PageArgs, Text, page_of

blp = api_blueprint(
    "decision_items",
    "/decision-items",
    "议定事项: decision items of special meetings and on-site visits, with status and reports",
)


class DecisionItemArgs(PageArgs):
    unit = Text(100, metadata={"description": "the responsible unit's code (e.g. zrzyj, jianping.zrzyj)"})
    leader = Text(100, metadata={"description": "user name of the leader whose 批示 called the meeting"})
    status = fields.String(
        validate=validate.OneOf(decision_items.STATUS_FILTERS),
        metadata={"description": "open (落实中), done (已落实) or overdue (open past its due time)"},
    )


class DecisionItemSchema(Schema):
    instance_id = fields.Integer(required=True)
    case_no = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    meeting = fields.String(required=True, metadata={"description": "the step that decided it"})
    meeting_at = fields.DateTime(required=True, metadata={"description": "when the minutes were recorded"})
    meeting_date = fields.String(allow_none=True, metadata={"description": "the day of the meeting or visit"})
    leader = fields.String(allow_none=True)
    index = fields.Integer(required=True, metadata={"description": "1-based position in its meeting's list"})
    content = fields.String(required=True)
    unit = fields.String(required=True)
    deadline = fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD as decided"})
    task_id = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    status = fields.String(required=True, metadata={"description": "open | done | cancelled"})
    assignee = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    report = fields.String(allow_none=True)
    overdue = fields.Boolean(required=True, metadata={"description": "open past its due time, or completed after it"})


@blp.route("")
@blp.arguments(DecisionItemArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(DecisionItemSchema))
def list_items(args):
    """Decision items of the cases the caller may see: open overdue ones first, then by due time
    (officials only: the items are internal to the government)."""
    if g.principal.is_enterprise:
        raise NotAllowed("decision items are for officials")
    query = decision_items.ItemQuery(
        unit=args.get("unit") or None, leader=args.get("leader") or None, status=args.get("status") or None
    )
    result = decision_items.board(get_db(), g.principal, query, get_engine().clock.now())
    return page_of_list([decision_items.as_dict(i) for i in result.items], args)
