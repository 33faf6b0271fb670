"""The JSON API for programs, under /api/v1 (flask-smorest + marshmallow).

One module per resource, each a blueprint of thin views: parse with marshmallow, call the
engine, dump. Callers authenticate with a per-user API token (``Authorization: Bearer``);
the access rules are the pages' (engine/access.py). Errors have one shape
(webapp/api/errors.py); every list is paginated (``page``, ``per_page`` → ``items`` and
``page``). The OpenAPI document is /api/v1/openapi.json, rendered at /api/v1/docs.
The resource modules take their shared helpers from ``common``; this module only mounts them.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .common import PREFIX
from .schemas import ErrorSchema


class ZtcApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """flask-smorest would handle every HTTPException of the whole app (the pages too);
        API errors are mapped per blueprint by webapp.api.errors instead."""


def init_app(app: Flask) -> ZtcApi:
    from ..context import csrf
    from . import (
        cases,
        decision_items,
        definitions,
        docs,
        errors,
        incidents,
        instances,
        messages,
        statistics,
        tasks,
        tokens,
        tokens_page,
        verbs,
    )

    app.config.setdefault("API_TITLE", "直通车 zhitongche API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_MAX_DEPLOY_BYTES", 10 * 1024 * 1024)
    api = ZtcApi(
        app,
        spec_kwargs={
            "info": {
                "description": "书记市长直通车: process definitions, instances, tasks, cases, messages, "
                "incidents and statistics. Authenticate with `Authorization: Bearer <token>` "
                "(`zhitongche token create USER`, or the page /account/tokens)."
            },
            "security": [{"bearerAuth": []}],
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (
        definitions,
        instances,
        tasks,
        cases,
        messages,
        incidents,
        statistics,
        tokens,
        verbs,
        decision_items,
    ):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    errors.install_routing_errors(app, PREFIX)
    app.register_blueprint(docs.bp)
    app.register_blueprint(tokens_page.bp)
    app.extensions["zhitongche-api"] = api
    return api
