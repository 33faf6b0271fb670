"""议定事项 board (issue 19, item 4): the decision items of 专题会议 / 现场办公 with their unit,
deadline, status, report and overdue mark — across the cases a person may see (/decision-items,
filters unit, leader, status) and on each case page (``case_decision_items``, used by
templates/office/_decision_items.html). The items come from engine/decision_items.py."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request

from engine import access, decision_items
from engine.models import User

from .context import get_db, get_engine
from .views_auth import official_required

bp = Blueprint("decisions", __name__)


def people_names(usernames) -> dict[str, str]:
    names = [u for u in set(usernames) if u]
    if not names:
        return {}
    rows = get_db().execute(
        User.__table__.select().with_only_columns(User.username, User.display_name).where(User.username.in_(names))
    )
    return {username: display or username for username, display in rows}


@bp.app_context_processor
def _inject():
    principal = g.get("principal")

    def case_decision_items(instance):
        return decision_items.of_case(get_db(), instance, get_engine().clock.now())

    return {
        "can_see_decision_board": access.follows_decision_items(principal),
        "case_decision_items": case_decision_items,
        "decision_people": people_names,
    }


def query_from(args) -> decision_items.ItemQuery:
    status = args.get("status") or None
    return decision_items.ItemQuery(
        unit=(args.get("unit") or None),
        leader=(args.get("leader") or None),
        status=status if status in decision_items.STATUS_FILTERS else None,
    )


@bp.get("/decision-items")
@official_required
def board():
    query = query_from(request.args)
    result = decision_items.board(get_db(), g.principal, query, get_engine().clock.now())
    directory = current_app.config["DIRECTORY"]
    names = people_names([i.leader for i in result.items] + list(result.leaders))
    # a unit or leader asked for keeps its choice in the filter, even when none of the items has it
    units = sorted(set(result.units) | ({query.unit} if query.unit else set()))
    leaders = sorted(set(result.leaders) | ({query.leader} if query.leader else set()))
    return render_template(
        "office/decision_items.html",
        result=result,
        query=query,
        args=request.args,
        units=[(u, directory.unit_name(u)) for u in units],
        leaders=[(u, names.get(u, u)) for u in leaders],
        names=names,
    )
