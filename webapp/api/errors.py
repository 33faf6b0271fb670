"""The one error shape of the API, mapped from domain exceptions in this one place:

    {"error": {"code": "not_found", "message": "...", "details": {...}}}

The pages keep their own error pages (webapp/errors.py); these handlers are registered on
the API blueprints only, plus one hook for URLs under /api/ that match no route (404/405).
Nobody ever sees a stack trace.
"""

from __future__ import annotations

import logging

from flask import g, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    BundleError,
    Conflict,
    EngineError,
    FormValidationError,
    InvalidRequest,
    MessageNotAccepted,
    NotAllowed,
    NotFound,
)

from ..dbmode import retry_as_writer

log = logging.getLogger(__name__)


class AuthRequired(Exception):
    """No valid ``Authorization: Bearer <token>`` header."""


STATUS = {NotFound: 404, NotAllowed: 403, Conflict: 409, MessageNotAccepted: 409, InvalidRequest: 400}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    response = jsonify(error={"code": code, "message": message, "details": details or {}})
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    """webargs' ``{"json": {"data": {"x": ["msg"]}}}`` → ``{"data.x": "msg"}``."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
    elif isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        out[prefix] = "; ".join(messages)
    elif isinstance(messages, (list, tuple)):
        for i, value in enumerate(messages):
            out.update(_flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = str(messages)
    return out


def http_error(exc: HTTPException):
    status = exc.code or 500
    code = (exc.name or "error").lower().replace(" ", "_").replace("-", "_")
    data = getattr(exc, "data", None) or {}
    details: dict = {}
    message = exc.description or exc.name
    if status == 422 and "messages" in data:  # webargs/marshmallow: field-level messages
        locations = data["messages"]
        details["fields"] = _flatten(
            {k: v for loc in locations.values() for k, v in loc.items()}
            if all(isinstance(v, dict) for v in locations.values())
            else locations
        )
        code, message = "validation_error", "the request has invalid fields"
    elif status == 405 and getattr(exc, "valid_methods", None):
        details["allowed"] = sorted(exc.valid_methods)
    elif status == 413:
        code, message = "too_large", "the request body is larger than allowed"
    headers = [h for h in exc.get_headers() if h[0].lower() == "allow"]
    headers += list((data.get("headers") or {}).items())
    return error_response(status, code, message, details, headers)


def _engine_error(exc: EngineError):
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    details = {k: v for k, v in (exc.details or {}).items() if isinstance(v, (str, int, float, bool, list, dict))}
    return error_response(status, exc.code, exc.message, details)


def _form_error(exc: FormValidationError):
    lang = "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh"
    return error_response(422, "validation_error", "the form has invalid fields", {"fields": exc.by_field(lang)})


def _bundle_error(exc: BundleError):
    return error_response(
        422,
        "invalid_process_files",
        "the process files cannot be deployed",
        {"problems": [p.as_dict() for p in exc.problems]},
    )


def _auth_required(exc: AuthRequired):
    return error_response(
        401,
        "unauthorized",
        "a valid API token is required (Authorization: Bearer <token>)",
        headers=[("WWW-Authenticate", 'Bearer realm="zhitongche"')],
    )


def _crash(exc: Exception):
    if retry_as_writer(exc):  # a read request met a writer: it runs again
        return "", 503
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception(
        "unhandled API error on %s %s (user %s)", request.method, request.path, getattr(g.get("user"), "username", None)
    )
    return error_response(500, "internal_error", "internal error; it has been logged")


# every class the app-wide page handlers know, so a blueprint handler always wins (Flask
# looks for a handler class by class along the exception's MRO, blueprint before app)
HANDLERS = [
    (AuthRequired, _auth_required),
    (FormValidationError, _form_error),
    (BundleError, _bundle_error),
    (NotFound, _engine_error),
    (NotAllowed, _engine_error),
    (Conflict, _engine_error),
    (MessageNotAccepted, _engine_error),
    (InvalidRequest, _engine_error),
    (EngineError, _engine_error),
    (HTTPException, http_error),
    (Exception, _crash),
]


def register(blueprint) -> None:
    for exc_class, handler in HANDLERS:
        blueprint.register_error_handler(exc_class, handler)
    blueprint.register_error_handler(CSRFError, http_error)  # never raised for the exempt API, but be explicit


def install_routing_errors(app, prefix: str) -> None:
    """A URL under the API prefix that matches no route (or not this method) gets the API's
    error shape, with the ``Allow`` header on 405."""

    @app.before_request
    def _api_routing_error():
        exc = request.routing_exception
        if exc is not None and request.path.startswith(prefix + "/") and (getattr(exc, "code", 0) or 0) >= 400:
            return http_error(exc)
        return None
