"""The JSON API for programs, under /api/v1 (flask-smorest + marshmallow).

One module per resource, each a blueprint of thin views: parse with marshmallow, call the
engine, dump. Callers authenticate with a per-user API token (``Authorization: Bearer``);
the access rules are the pages' (engine/access.py). Errors have one shape
(webapp/api/errors.py); every list is paginated (``page``, ``per_page`` → ``items`` and
``page``). The OpenAPI document is /api/v1/openapi.json, rendered at /api/v1/docs.
"""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api, Blueprint
from sqlalchemy import func, select

from .schemas import ErrorSchema

PREFIX = "/api/v1"
# ids in URLs: bounded like their columns, so a huge id is a 404, never a database overflow
BIG_ID = "int(max=9223372036854775807)"
ID = "int(max=2147483647)"


class ZtcApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """flask-smorest would handle every HTTPException of the whole app (the pages too);
        API errors are mapped per blueprint by webapp.api.errors instead."""


def api_blueprint(name: str, path: str, description: str) -> Blueprint:
    """A resource blueprint under /api/v1: bearer-token authentication first, the API's
    error shape, no CSRF token (the API ignores the session cookie)."""
    from . import auth, errors

    blueprint = Blueprint(name, f"{__name__}.{name}", url_prefix=f"{PREFIX}{path}", description=description)
    auth.protect(blueprint)
    errors.register(blueprint)
    return blueprint


def paginate(session, stmt, args: dict, convert=None) -> dict:
    """One page of a select: ``{"items": [...], "page": {"page", "per_page", "total"}}``."""
    page, per_page = args["page"], args["per_page"]
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)))
    return {"items": [convert(r) for r in rows] if convert else rows,
            "page": {"page": page, "per_page": per_page, "total": total}}


def page_of_list(items: list, args: dict) -> dict:
    page, per_page = args["page"], args["per_page"]
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "page": {"page": page, "per_page": per_page, "total": len(items)}}


def init_app(app: Flask) -> ZtcApi:
    from ..context import csrf
    from . import cases, definitions, docs, errors, incidents, instances, messages, statistics, tasks, tokens, verbs
    from . import tokens_page

    app.config.setdefault("API_TITLE", "直通车 zhitongche API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_MAX_DEPLOY_BYTES", 10 * 1024 * 1024)
    api = ZtcApi(app, spec_kwargs={
        "info": {"description": "书记市长直通车: process definitions, instances, tasks, cases, messages, "
                                "incidents and statistics. Authenticate with `Authorization: Bearer <token>` "
                                "(`zhitongche token create USER`, or the page /account/tokens)."},
        "security": [{"bearerAuth": []}],
        "servers": [{"url": "/"}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (definitions, instances, tasks, cases, messages, incidents, statistics, tokens, verbs):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    errors.install_routing_errors(app, PREFIX)
    app.register_blueprint(docs.bp)
    app.register_blueprint(tokens_page.bp)
    app.extensions["zhitongche-api"] = api
    return api
