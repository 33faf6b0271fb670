"""Download names (RFC 6266): the UTF-8 name and an ASCII fallback that keeps a stem."""

from __future__ import annotations

import io

from sqlalchemy import select

from engine.models import Attachment
from tests.web.conftest import app, as_user, start_case, web_settings  # noqa: F401
from webapp.downloads import ascii_fallback


def test_ascii_fallback_keeps_a_stem():
    assert ascii_fallback("材料.pdf", "attachment-3") == "attachment-3.pdf"
    assert ascii_fallback("Report 2026 报告.xlsx", "export") == "Report 2026.xlsx"
    assert ascii_fallback('a"b;\r\n.pdf', "x") == "ab.pdf"


def test_a_chinese_file_name_downloads_with_both_names(as_user, start_case, Session):
    case = start_case()
    wg = as_user("wg.jianping")
    wg.get(f"/cases/{case}")
    wg.post(
        f"/cases/{case}/attachments",
        {"file": (io.BytesIO(b"%PDF-1.4\n"), "申请材料.pdf")},
        content_type="multipart/form-data",
    )
    with Session() as s:
        attachment = s.scalars(select(Attachment)).one()
    disposition = wg.get(f"/files/{attachment.id}").headers["Content-Disposition"]
    assert disposition == (
        f'attachment; filename="attachment-{attachment.id}.pdf"; '
        "filename*=UTF-8''%E7%94%B3%E8%AF%B7%E6%9D%90%E6%96%99.pdf"
    )
