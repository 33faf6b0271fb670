"""What the API's resource modules share: the URL prefix, bounded ids, the resource blueprint
(bearer-token authentication, the API's error shape) and pagination."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import func, select

PREFIX = "/api/v1"
# ids in URLs: bounded like their columns, so a huge id is a 404, never a database overflow
BIG_ID = "int(max=9223372036854775807)"
ID = "int(max=2147483647)"


def api_blueprint(name: str, path: str, description: str) -> Blueprint:
    """A resource blueprint under /api/v1: bearer-token authentication first, the API's
    error shape, no CSRF token (the API ignores the session cookie)."""
    from . import auth, errors

    blueprint = Blueprint(name, f"webapp.api.{name}", url_prefix=f"{PREFIX}{path}", description=description)
    auth.protect(blueprint)
    errors.register(blueprint)
    return blueprint


def paginate(session, stmt, args: dict, convert=None) -> dict:
    """One page of a select: ``{"items": [...], "page": {"page", "per_page", "total"}}``."""
    page, per_page = args["page"], args["per_page"]
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)))
    return {
        "items": [convert(r) for r in rows] if convert else rows,
        "page": {"page": page, "per_page": per_page, "total": total},
    }


def page_of_list(items: list, args: dict) -> dict:
    page, per_page = args["page"], args["per_page"]
    start = (page - 1) * per_page
    return {"items": items[start : start + per_page], "page": {"page": page, "per_page": per_page, "total": len(items)}}
