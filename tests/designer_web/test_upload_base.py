"""The upload page carries the versions it was based on (issue 15): two designers who opened
the upload page on the same version each upload a change; the second upload is refused with
what changed in between, as the web editor refuses, and nothing of the first is lost."""

from __future__ import annotations

import io
import re
from html import unescape

from sqlalchemy import select

from engine.models import ProcessVersion

from .conftest import ROOT

DMN = (ROOT / "processes" / "deadline.dmn").read_text("utf-8")


def bases_on_page(client) -> list[str]:
    html = client.get("/designer/deploy").get_data(as_text=True)
    return re.findall(r'<input type="hidden" name="base" value="([^"]+)">', html)


def upload(client, bases: list[str], files: dict[str, bytes]):
    data = {
        "action": "deploy",
        "fill": "1",
        "base": bases,
        "files": [(io.BytesIO(content), name) for name, content in files.items()],
    }
    return client.post("/designer/deploy", data=data, content_type="multipart/form-data")


def latest(Session, process_id: str) -> ProcessVersion:
    with Session() as s:
        found = s.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
        ).first()
        s.expunge(found)
        return found


def test_the_second_upload_from_the_same_base_is_refused_with_the_diff(real_as_user, Session):
    alice, bob = real_as_user("designer"), real_as_user("designer")
    alice_page, bob_page = bases_on_page(alice), bases_on_page(bob)
    assert "ztc_case:1" in alice_page and alice_page == bob_page
    assert "<text>3</text>" in DMN and "<text>15</text>" in DMN
    first = upload(alice, alice_page, {"deadline.dmn": DMN.replace("<text>3</text>", "<text>2</text>").encode()})
    assert first.status_code == 200 and "ztc_case v2" in first.get_data(as_text=True)
    assert latest(Session, "ztc_case").base_version == 1

    second = upload(bob, bob_page, {"deadline.dmn": DMN.replace("<text>15</text>", "<text>20</text>").encode()})
    html = second.get_data(as_text=True)
    assert second.status_code == 422
    assert "已有更新的版本 v2" in html and "本次修改基于 v1" in html
    # the diff shows alice's change that bob's upload would have undone
    assert "-          <text>3</text>" in unescape(html) and "+          <text>2</text>" in unescape(html)
    v = latest(Session, "ztc_case")
    assert (
        v.version == 2
        and "<text>2</text>" in v.files["deadline.dmn"]
        and "<text>20</text>" not in v.files["deadline.dmn"]
    )

    # bob reopens the page: now based on v2, his change goes through and keeps alice's
    again = upload(
        bob,
        bases_on_page(bob),
        {
            "deadline.dmn": DMN.replace("<text>3</text>", "<text>2</text>")
            .replace("<text>15</text>", "<text>20</text>")
            .encode()
        },
    )
    assert again.status_code == 200 and "ztc_case v3" in again.get_data(as_text=True)
    v3 = latest(Session, "ztc_case")
    assert v3.base_version == 2 and "<text>2</text>" in v3.files["deadline.dmn"]


def test_an_upload_page_opened_after_the_latest_deploy_is_not_refused(real_as_user, Session):
    client = real_as_user("designer")
    response = upload(
        client, bases_on_page(client), {"deadline.dmn": DMN.replace("<text>3</text>", "<text>2</text>").encode()}
    )
    assert response.status_code == 200 and latest(Session, "ztc_case").version == 2


def test_the_refusal_reads_in_english_too(real_as_user):
    alice, bob = real_as_user("designer"), real_as_user("designer")
    bob.post("/lang/en", {"next": "/designer/"})
    page = bases_on_page(bob)
    upload(alice, bases_on_page(alice), {"deadline.dmn": DMN.replace("<text>3</text>", "<text>2</text>").encode()})
    html = unescape(
        upload(bob, page, {"deadline.dmn": DMN.replace("<text>15</text>", "<text>20</text>").encode()}).get_data(
            as_text=True
        )
    )
    assert "ztc_case has a newer version v2 meanwhile (this upload is based on v1)" in html
    assert 'Open the "Upload and deploy" page again' in html
