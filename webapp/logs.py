"""Request ids and optional JSON logs.

Every request gets an id: the ``X-Request-ID`` header a proxy sent (8–100 of
``A-Z a-z 0-9 . _ -``), else a new random one. It comes back in the response's
``X-Request-ID`` header (pages and API alike), is shown on error pages, and is part of every
log line written while the request runs. ``ZHITONGCHE_LOG_FORMAT=json`` writes one JSON
object per line on stderr (time, level, logger, message, request_id, method, path, user,
exception) — for a log collector; the default stays plain text.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import sys
import uuid
from typing import TextIO

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,100}$")
_HANDLER_NAME = "zhitongche"


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or None) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            line["request_id"] = request_id
        if has_request_context():
            line["method"], line["path"] = request.method, request.path
            user = g.get("user")
            if user is not None:
                line["user"] = getattr(user, "username", None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(fmt: str | None = None, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to one handler on stderr (or ``stream``), as JSON when
    ``fmt`` (default ``ZHITONGCHE_LOG_FORMAT``) is ``json``. Calling it again replaces it."""
    fmt = (fmt or os.environ.get("ZHITONGCHE_LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    )
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def init_app(app) -> None:
    if os.environ.get("ZHITONGCHE_LOG_FORMAT", "").lower() == "json":
        configure("json")

    @app.before_request
    def _request_id():
        given = request.headers.get(HEADER, "")
        g.request_id = given if _VALID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        if g.get("request_id"):
            response.headers[HEADER] = g.request_id
        return response
