"""Limits on what a request may carry, checked before any view reads it (issue 16, "no 500
for any input"):

- a JSON body (API and pages) is at most ``MAX_JSON_BYTES`` (413) and nested at most
  ``MAX_JSON_DEPTH`` levels (422 ``too_deep``; Python's parser would otherwise raise
  RecursionError), and holds no lone UTF-16 surrogate (``"\\ud800"``), which no database
  stores (400);
- uploaded file names on the pages hold no NUL or other control character (400); process
  files sent to the API are checked by the engine's bundle parser;
- integers taken from a page's query string or form are bounded (``int_arg``: 400 beyond);
- ``query_url(endpoint)`` builds a link that keeps the current query string without
  passing it to ``url_for`` as keyword arguments (``?endpoint=x`` once broke the page).

API requests get these errors in the API's shape (the API blueprints' handlers), pages get
the error page.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnprocessableEntity

MAX_JSON_BYTES = 12 * 1024 * 1024  # a designer's web edit carries whole process files
MAX_JSON_DEPTH = 64
MAX_INT = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TooDeep(UnprocessableEntity):
    name = "too deep"
    description = f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep"


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Is ``value`` nested deeper than ``limit`` lists/objects? (iterative: no recursion)"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def has_lone_surrogate(value: Any) -> bool:
    """Any text (key or value) that is not valid Unicode, iteratively."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _check_json() -> None:
    limit = current_app.config.get("MAX_JSON_BYTES", MAX_JSON_BYTES)
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    data = request.get_data(cache=True)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    if not data.strip():
        return
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep() from None
    except ValueError:
        return  # malformed JSON: the view's parser answers 400
    if json_depth_exceeds(value, MAX_JSON_DEPTH):
        raise TooDeep()
    if has_lone_surrogate(value):
        raise BadRequest("the JSON body holds text that is not valid Unicode (a lone surrogate)")


def _check_file_names() -> None:
    for storage in request.files.values():
        if storage.filename and _CONTROL.search(storage.filename):
            raise BadRequest("file names must not contain control characters")


def int_arg(name: str, source=None, minimum: int = 1, maximum: int = MAX_INT) -> int | None:
    """An integer from the query string (or ``source``): None when absent or empty,
    ``BadRequest`` when it is not a whole number from ``minimum`` to ``maximum``."""
    raw = (request.args if source is None else source).get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii() or len(raw) > len(str(maximum)) or not minimum <= int(raw) <= maximum:
        raise BadRequest(f"{name} must be a whole number from {minimum} to {maximum}")
    return int(raw)


def query_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` followed by the current request's query string (minus
    the keys in ``values``) — never the query string as ``url_for`` arguments."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in values]
    base = url_for(endpoint, **values)
    return base + ("?" + urlencode(kept) if kept else "")


def init_app(app: Flask) -> None:
    app.config.setdefault("MAX_JSON_BYTES", MAX_JSON_BYTES)
    app.jinja_env.globals["query_url"] = query_url

    @app.before_request
    def _limit_request_bodies():
        if request.method not in ("POST", "PUT", "PATCH"):
            return
        if request.is_json:
            _check_json()
        elif request.mimetype == "multipart/form-data" and not request.path.startswith("/api/"):
            _check_file_names()
