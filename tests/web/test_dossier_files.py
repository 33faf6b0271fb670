"""Issue 14: files have the internal/public flag too — a case-page file marked internal is not
listed for, nor downloadable by, the enterprise; an unmarked one is."""

from __future__ import annotations

import io

from sqlalchemy import select

from tests.web.conftest import INTAKE_OK, ready_task


def test_an_internal_case_file_stays_with_the_officials(app, as_user, start_case, Session):
    from engine.models import Attachment

    case = start_case()
    wg = as_user("wg.jianping")
    assert (
        wg.post(f"/tasks/{ready_task(Session, case, 'intake')}", {**INTAKE_OK, "action": "complete"}).status_code == 302
    )
    for name, internal in (("批复.pdf", None), ("内部研判.pdf", "1")):
        form = {"file": (io.BytesIO(b"%PDF-1.4 x"), name), **({"internal": internal} if internal else {})}
        assert wg.post(f"/cases/{case}/attachments", form, content_type="multipart/form-data").status_code == 302
    with Session() as s:
        ids = {a.filename: a.id for a in s.scalars(select(Attachment).where(Attachment.instance_id == case))}
    ent = as_user("ent.demo1")
    page = ent.get(f"/portal/cases/{case}").get_data(as_text=True)
    assert "批复.pdf" in page and "内部研判.pdf" not in page
    assert ent.get(f"/portal/files/{ids['批复.pdf']}").status_code == 200
    assert ent.get(f"/portal/files/{ids['内部研判.pdf']}").status_code == 404
    assert wg.get(f"/files/{ids['内部研判.pdf']}").status_code == 200
