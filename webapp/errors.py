"""Error pages in the visitor's language; nobody ever sees a stack trace."""

from __future__ import annotations

import logging

from flask import g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import Conflict, InvalidRequest, NotAllowed, NotFound

from .api.errors import error_response
from .dbmode import retry_as_writer

log = logging.getLogger(__name__)


def _titles():
    return {
        400: (_("请求无效"), _("提交的内容无法处理。请返回上一页重试。")),
        403: (_("无权访问"), _("您没有查看此页面的权限。")),
        404: (_("页面不存在"), _("您要找的页面或案件不存在，或者您无权查看。")),
        405: (_("请求方式不允许"), _("此页面不支持这种请求方式。")),
        409: (_("操作冲突"), _("此事项刚被其他人处理或已发生变化，请刷新后重试。")),
        413: (_("文件过大"), _("上传的文件超过了大小限制。")),
        422: (_("请求无效"), _("提交的内容无法处理。")),
        500: (_("系统错误"), _("系统出现了问题，已记录。请稍后重试。")),
    }


_API_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    500: "internal_error",
}


def _reset_db() -> None:
    """A failed flush leaves the request's session unusable: roll it back before the page
    (which reads the user) is rendered, so the error is shown, not a PendingRollbackError."""
    db = g.get("db")
    if db is not None:
        try:
            db.rollback()
        except Exception:  # noqa: BLE001 - the connection itself may be gone
            log.warning("rollback before an error page failed", exc_info=True)


def error_page(code: int, detail: str | None = None):
    if code in (409, 500):
        _reset_db()
    title, text = _titles().get(code, _titles()[500])
    if request.path.startswith("/api/"):  # an error raised outside the API's own handlers (e.g. at commit)
        return error_response(code, _API_CODES.get(code, "error"), detail or title)
    if request.path.startswith("/healthz") or request.accept_mimetypes.best == "application/json":
        return jsonify(error={"code": code, "message": title, "detail": detail}), code
    return render_template("error.html", code=code, title=title, text=text, detail=detail), code


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_page(400, _("页面已过期，请刷新页面后重新提交。"))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code and exc.code < 400:
            return exc
        return error_page(exc.code or 500)

    @app.errorhandler(NotFound)
    def _not_found(exc):
        return error_page(404)

    @app.errorhandler(NotAllowed)
    def _forbidden(exc):
        return error_page(403)

    @app.errorhandler(Conflict)
    def _conflict(exc):
        return error_page(409)

    @app.errorhandler(InvalidRequest)
    def _invalid(exc):
        return error_page(400, exc.message)

    @app.errorhandler(Exception)
    def _crash(exc):
        if retry_as_writer(exc):  # a read request met a writer: it runs again
            return "", 503
        if isinstance(exc, HTTPException):
            return _http(exc)
        _reset_db()  # (the log line reads the user)
        log.exception(
            "unhandled error on %s %s (user %s)", request.method, request.path, getattr(g.get("user"), "username", None)
        )
        return error_page(500)

    @app.errorhandler(InternalServerError)
    def _ise(exc):
        return error_page(500)
