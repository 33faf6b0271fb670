"""Issue 20 / 16.7: attachments live in the database (stored_file chunks), keep their size
limits, move over from the old upload folder with `zhitongche files-migrate`, and a full or
failing store answers 507/503 with the typed form kept."""

from __future__ import annotations

import hashlib
import io
import sqlite3

from click.testing import CliRunner
from sqlalchemy import event, func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine import storage
from engine.models import Attachment, Instance, StoredFile, StoredFileChunk

SUBMIT = {
    "title": "厂房用地手续办理",
    "category": "土地批复",
    "county": "jianping",
    "description": "我公司新建厂房的用地手续迟迟未批，影响开工。",
    "help_wanted": "尽快批复用地",
    "urgency": "紧急",
    "contact": "王经理",
    "mobile": "13900001111",
}


def _pdf(size: int) -> bytes:
    body = hashlib.sha256(b"seed").digest() * (size // 32 + 1)
    return (b"%PDF-1.4\n" + body)[:size]


def _submit(ent, data: bytes, name: str = "报告.pdf", **fields):
    # the body is built in memory: werkzeug's test client leaves its temporary file for a large body open
    values = {
        **SUBMIT,
        **fields,
        "csrf_token": ent.token,
        "attachments": FileStorage(io.BytesIO(data), filename=name, content_type="application/pdf"),
    }
    boundary, body = encode_multipart(values)
    return ent.client.post("/portal/submit", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _count(Session, model) -> int:
    with Session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_upload_is_stored_in_the_database_and_downloads_identically(app, as_user, Session, case_process, web_settings):
    data = _pdf(storage.CHUNK_BYTES * 2 + 1234)  # three chunks
    ent = as_user("ent.demo1")
    response = _submit(ent, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    with Session() as session:
        attachment = session.scalars(select(Attachment)).one()
        stored = session.get(StoredFile, attachment.storage_key)
        assert attachment.instance_id is not None
        assert (stored.size, stored.chunks) == (len(data), 3)
        assert stored.sha256 == attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert not web_settings.upload_dir.exists() or not any(web_settings.upload_dir.rglob("*"))  # nothing on disk
    download = ent.client.get(f"/portal/files/{attachment.id}")
    assert download.status_code == 200
    assert download.get_data() == data
    assert download.headers["Content-Length"] == str(len(data))
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf" in download.headers["Content-Disposition"]
    download.close()
    official = as_user("wg.city")
    again = official.client.get(f"/files/{attachment.id}")
    assert again.get_data() == data
    again.close()


def test_size_limit_kept_and_nothing_left_behind(app, as_user, Session, case_process):
    app.config["MAX_UPLOAD_BYTES"] = 1024 * 1024
    ent = as_user("ent.demo1")
    response = _submit(ent, _pdf(1024 * 1024 + 1))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "超过大小限制" in html and "厂房用地手续办理" in html  # typed title kept
    assert _count(Session, StoredFile) == 0 and _count(Session, StoredFileChunk) == 0
    assert _count(Session, Instance) == 0


def test_content_check_kept(app, as_user, Session, case_process):
    response = _submit(as_user("ent.demo1"), b"MZ\x90\x00 not a pdf at all")
    assert response.status_code == 422
    assert "内容与扩展名不符" in response.get_data(as_text=True)
    assert _count(Session, StoredFile) == 0


def _make_storage_full(Session):
    """The database refuses to grow: SQLite at its page limit, PostgreSQL answering disk_full."""
    bind = Session.kw["bind"]
    if bind.dialect.name == "postgresql":
        with bind.begin() as conn:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION ztc_disk_full() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device' "
                    "USING ERRCODE = 'disk_full'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER ztc_disk_full BEFORE INSERT ON stored_file_chunk "
                    "FOR EACH ROW EXECUTE FUNCTION ztc_disk_full()"
                )
            )

        def undo():
            with bind.begin() as conn:
                conn.execute(text("DROP TRIGGER ztc_disk_full ON stored_file_chunk"))

        return undo

    def limit(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    bind.dispose()
    raw = sqlite3.connect(bind.url.database, isolation_level=None)
    raw.execute("VACUUM")  # no free pages left to reuse: the next file must grow the database
    raw.close()
    bind.dispose()
    event.listen(bind, "connect", limit)

    def undo():
        event.remove(bind, "connect", limit)
        bind.dispose()

    return undo


def test_full_storage_answers_507_and_keeps_the_typed_form(app, as_user, Session, case_process):
    ent = as_user("ent.demo1")
    undo = _make_storage_full(Session)
    try:
        response = _submit(ent, _pdf(300 * 1024), description="我公司新建厂房的用地手续迟迟未批，特此反映。")
        html = response.get_data(as_text=True)
    finally:
        undo()
    assert response.status_code == 507
    assert "存储空间已满" in html
    assert "我公司新建厂房的用地手续迟迟未批，特此反映。" in html and "13900001111" in html
    assert _count(Session, Instance) == 0 and _count(Session, StoredFile) == 0
    # the store has room again: the same submission goes through
    assert _submit(ent, _pdf(1000)).status_code == 302
    assert _count(Session, Instance) == 1


def test_healthz_reports_the_file_store(app, Session):
    report = app.test_client().get("/healthz").get_json()
    assert report["storage"]["backend"] == "database"
    assert report["storage"]["state"] == "ok"
    assert report["storage"]["not_migrated"] == 0


def test_files_migrate_moves_old_local_files_into_the_database(app, as_user, Session, web_settings, monkeypatch):
    from webapp.cli import common

    old = _pdf(5000)
    (web_settings.upload_dir / "202601").mkdir(parents=True)
    (web_settings.upload_dir / "202601" / "a1").write_bytes(old)
    (web_settings.upload_dir / "202601" / "a2").write_bytes(b"tampered")
    with Session.begin() as session:
        for key, sha in (
            ("202601/a1", hashlib.sha256(old).hexdigest()),
            ("202601/a2", "0" * 64),
            ("202601/gone", "1" * 64),
        ):
            session.add(
                Attachment(
                    filename=f"{key[-2:]}.pdf",
                    content_type="application/pdf",
                    size=5000,
                    sha256=sha,
                    storage_key=key,
                    uploaded_by="ent.demo1",
                )
            )
    ent = as_user("ent.demo1")
    first_id = _count(Session, Attachment) - 2
    # before the move the old file is still served from the folder
    response = ent.client.get(f"/portal/files/{first_id}")
    assert response.get_data() == old
    response.close()
    assert app.test_client().get("/healthz").get_json()["storage"]["not_migrated"] == 3

    monkeypatch.setenv("ZHITONGCHE_UPLOAD_DIR", str(web_settings.upload_dir))
    monkeypatch.setattr(common, "session_factory", lambda settings, migrate=True: Session)
    result = CliRunner().invoke(common.main, ["files-migrate", "--remove"])
    assert result.exit_code == 1, result.output  # one missing, one mismatched: reported, exit 1
    assert "moved 1" in result.output and "202601/gone" in result.output and "202601/a2" in result.output
    assert not (web_settings.upload_dir / "202601" / "a1").exists()  # moved, then removed
    assert (web_settings.upload_dir / "202601" / "a2").exists()  # left alone
    web_settings.upload_dir.rename(web_settings.upload_dir.with_name("gone"))  # no disk at all now
    response = ent.client.get(f"/portal/files/{first_id}")
    assert response.get_data() == old
    response.close()
    again = CliRunner().invoke(common.main, ["files-migrate"])
    assert "moved 0" in again.output and "already 1" in again.output


def test_full_temporary_disk_answers_507_not_500(app, as_user, Session, case_process):
    """werkzeug writes a large upload to a temporary file before the app sees it: a full disk
    there is a 507 page too, and nothing is half-saved."""
    import errno

    from flask import Request

    class FullDisk(Request):
        def _get_file_stream(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

    ent = as_user("ent.demo1")
    app.request_class = FullDisk
    response = _submit(ent, _pdf(700 * 1024))
    assert response.status_code == 507
    assert "存储空间已满" in response.get_data(as_text=True)
    assert _count(Session, Instance) == 0 and _count(Session, StoredFile) == 0


def test_task_page_with_full_storage_keeps_the_form_and_saves_nothing(app, as_user, Session, start_case):
    from engine.models import HumanTask
    from tests.web.conftest import INTAKE_OK, ready_task

    instance_id = start_case(county="city")
    task_id = ready_task(Session, instance_id, "intake")
    wg = as_user("wg.city")
    wg.get(f"/tasks/{task_id}")
    undo = _make_storage_full(Session)
    try:
        values = {
            **INTAKE_OK,
            "opinion": "请市自然资源局牵头，三日内反馈",
            "action": "draft",
            "csrf_token": wg.token,
            "files": FileStorage(io.BytesIO(_pdf(300 * 1024)), filename="交办单.pdf", content_type="application/pdf"),
        }
        boundary, body = encode_multipart(values)
        response = wg.client.post(
            f"/tasks/{task_id}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        html = response.get_data(as_text=True)
    finally:
        undo()
    assert response.status_code == 507
    assert "存储空间已满" in html and "请市自然资源局牵头，三日内反馈" in html
    with Session() as session:
        task = session.get(HumanTask, task_id)
        assert task.state == "ready" and not task.draft  # no draft saved without its file
    assert _count(Session, StoredFile) == 0
