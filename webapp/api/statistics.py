"""Statistics: the dashboard's figures (engine.stats.dashboard, the same as the page /stats)."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from engine import access, incidents, stats
from engine.models import HumanTask

from ..context import get_db, get_engine
from .common import api_blueprint
from .schemas import StatisticsArgs, StatisticsSchema

blp = api_blueprint(
    "statistics", "/statistics", "The statistics dashboard's figures (working groups, leaders and admins)"
)


@blp.route("")
@blp.arguments(StatisticsArgs, location="query", as_kwargs=False)
@blp.response(200, StatisticsSchema)
def statistics(args):
    """Figures of the period (cases received, closed, rates …) for the caller's county scope,
    as on the dashboard; plus the caller's open tasks and, for admins, the incidents."""
    db, principal = get_db(), g.principal
    county = stats.scoped_county(principal, args.get("county"))  # NotAllowed without statistics
    board = stats.dashboard(db, stats.Period(args.get("start"), args.get("end")), county, now=get_engine().clock.now())
    data = board.as_dict()
    return {
        **data,
        "period": {
            key: data["period"][day] for key, day in (("start", "from"), ("end", "to")) if day in data["period"]
        },
        "open_tasks": db.scalar(select(func.count()).select_from(HumanTask).where(access.task_filter(principal))) or 0,
        "incidents": incidents.count_incidents(db) if access.is_admin(principal) else None,
    }
