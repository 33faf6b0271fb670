"""Files over the web: the app's file store, streaming a download from it, and clear answers
when the store fails (507 when it is full, 503 when it cannot be reached — never a bare 500)."""

from __future__ import annotations

import errno
from collections.abc import Iterator

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from engine import storage
from engine.errors import NotFound
from engine.models import Attachment

from .downloads import set_filename


def file_store() -> storage.FileStore:
    """``FILE_STORE`` from the app config, else the database store (reading ``UPLOAD_DIR``
    for files not yet moved by ``zhitongche files-migrate``)."""
    store = current_app.config.get("FILE_STORE")
    if store is None:
        store = current_app.config["FILE_STORE"] = storage.default_store(current_app.config.get("UPLOAD_DIR"))
    return store


def stream_attachment(db, attachment: Attachment) -> Response:
    """The attachment as a download, read chunk by chunk in a session of its own (the request's
    session is closed before a streamed body is sent)."""
    store = file_store()
    if not store.exists(db, attachment.storage_key):
        raise NotFound("file not found")
    Session = current_app.config["SESSIONMAKER"]
    key = attachment.storage_key

    def body() -> Iterator[bytes]:
        with Session() as session:
            chunks = store.open(session, key)
            if chunks is not None:
                yield from chunks

    response = Response(body(), mimetype=attachment.content_type, direct_passthrough=True)
    set_filename(response, attachment.filename, f"attachment-{attachment.id}")  # RFC 6266, ASCII fallback
    if attachment.size:
        response.content_length = attachment.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES}


def storage_message(exc: storage.StorageError) -> str:
    if isinstance(exc, storage.StorageFull):
        return _("文件未能保存：存储空间已满。您填写的内容已保留，请稍后重试或联系管理员。")
    return _("文件未能保存：文件存储暂时不可用。您填写的内容已保留，请稍后重试。")


def register(app) -> None:
    """A storage error that reaches the top (not caught by a form) still answers 507/503; so
    does a full or read-only disk under the request itself (werkzeug spools uploads over
    500 KB to a temporary file)."""

    @app.errorhandler(OSError)
    def _os_error(exc: OSError):
        if exc.errno in _DISK_ERRNOS:
            return _storage_error(storage.translate(exc))
        from .errors import error_page

        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500)

    @app.errorhandler(storage.StorageError)
    def _storage_error(exc: storage.StorageError):
        current_app.logger.warning(
            "file store failed on %s %s: %s (%s)", request.method, request.path, exc.message, exc.detail
        )
        if request.path.startswith("/api/"):
            return jsonify(error={"code": exc.code, "message": exc.message, "details": {}}), exc.status
        title = _("存储空间不足") if isinstance(exc, storage.StorageFull) else _("文件存储暂时不可用")
        return render_template(
            "error.html", code=exc.status, title=title, text=storage_message(exc), detail=None
        ), exc.status
