"""Statistics over the cases the caller may see."""
from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from engine import access, casefiles, incidents
from engine.models import HumanTask, Instance

from .. import get_db, get_engine
from . import api_blueprint
from .schemas import StatisticsSchema

blp = api_blueprint("statistics", "/statistics",
                    "Counts of the cases the caller may see")


def _counts(session, column, where) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).select_from(Instance).where(where).group_by(column))
    return {str(key) if key is not None else "": n for key, n in rows}


@blp.route("")
@blp.response(200, StatisticsSchema)
def statistics():
    """Cases by status, category and county; overdue cases; open tasks; incidents (admins)."""
    db, principal = get_db(), g.principal
    where = Instance.business_key.is_not(None) & access.case_filter(principal)
    summary = Instance.summary
    overdue = casefiles.search_cases(db, principal, casefiles.CaseQuery(overdue=True, per_page=1),
                                     now=get_engine().clock.now()).total
    return {
        "cases": db.scalar(select(func.count()).select_from(Instance).where(where)) or 0,
        "by_status": _counts(db, Instance.status, where),
        "by_category": _counts(db, summary["category"].as_string(), where),
        "by_county": _counts(db, summary["county"].as_string(), where),
        "overdue": overdue,
        "open_tasks": db.scalar(select(func.count()).select_from(HumanTask).where(access.task_filter(principal))) or 0,
        "incidents": incidents.count_incidents(db) if "admin" in principal.groups else None,
    }
