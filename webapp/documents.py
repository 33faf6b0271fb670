"""Printable case documents (engine/documents.py): 交办单, 督办单, 会议纪要 as PDF or DOCX,
downloaded from the case page by people who can see the case."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, g, send_file

from engine import access, documents

from .context import get_db
from .views_auth import official_required

bp = Blueprint("documents", __name__)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.app_template_global()
def case_documents(instance) -> list[documents.DocumentRef]:
    """The documents of a case, for its page (only shown to people who see the page)."""
    return documents.available(get_db(), instance)


@bp.get("/cases/<int:case_id>/documents/<int:entry_id>.<any(pdf, docx):ext>")
@official_required
def download(case_id: int, entry_id: int, ext: str):
    db = get_db()
    instance = db.get(documents.Instance, case_id)
    if instance is None or not access.can_see_case(db, g.principal, instance):
        abort(404)
    doc = documents.build(db, instance, entry_id, current_app.config["DIRECTORY"])
    if doc is None:
        abort(404)
    if ext == "docx":
        data, mimetype = documents.render_docx(doc), DOCX
    else:
        data, mimetype = documents.render_pdf(doc), "application/pdf"
    case_no = (instance.summary or {}).get("case_no") or instance.business_key or str(instance.id)
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=f"{doc.title}-{case_no}.{ext}", max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
