"""The notification centre: the unread count in the header, the list, following a notice to its
task (marks it read), mark read one and all; nobody reads another person's notices."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine import notify
from engine.models import UserNotice


def _unread_badge(html: str) -> int:
    match = re.search(r'id="unread-count"[^>]*>(\d+)<', html)
    return int(match.group(1)) if match else 0


def _worker_pass(Session, clock):
    """The worker's pass over the outbox: a new task's groups become their members' notices."""
    notify.expand_due(Session, clock.now())


def _notice_ids(Session, username):
    with Session() as s:
        return list(s.scalars(select(UserNotice.id).where(UserNotice.username == username).order_by(UserNotice.id)))


def test_unread_count_list_follow_and_mark_read(as_user, start_case, Session, clock):
    start_case(title="厂房用地手续办理")
    start_case(title="供电增容")
    wg = as_user("wg.jianping")
    assert _unread_badge(wg.get("/notices").get_data(as_text=True)) == 0  # not sent yet: the worker resolves
    _worker_pass(Session, clock)
    page = wg.get("/notices").get_data(as_text=True)
    assert _unread_badge(page) == 2
    assert "新待办" in page and "供电增容" in page and "厂房用地手续办理" in page
    first, second = _notice_ids(Session, "wg.jianping")
    response = wg.get(f"/notices/{first}")
    assert response.status_code == 302 and re.search(r"/tasks/\d+$", response.headers["Location"])
    page = wg.get(response.headers["Location"]).get_data(as_text=True)
    assert _unread_badge(page) == 1  # following it marked it read
    assert wg.post(f"/notices/{second}/read").status_code == 302
    page = wg.get("/notices").get_data(as_text=True)
    assert _unread_badge(page) == 0 and "未读 0 条" in page
    assert "供电增容" in page  # read notices stay listed


def test_mark_all_read_and_only_unread(as_user, start_case, Session, clock):
    start_case()
    start_case()
    _worker_pass(Session, clock)
    wg = as_user("wg.city")
    assert _unread_badge(wg.get("/notices").get_data(as_text=True)) == 2
    response = wg.post("/notices/read-all", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert _unread_badge(page) == 0 and "已将2条通知标为已读" in page
    assert "暂无通知" in wg.get("/notices?unread=1").get_data(as_text=True)


def test_nobody_reads_or_marks_another_persons_notice(as_user, start_case, Session, clock):
    start_case()
    _worker_pass(Session, clock)
    (notice_id,) = _notice_ids(Session, "wg.jianping")
    other = as_user("ent.demo1")
    assert other.get(f"/notices/{notice_id}").status_code == 404
    assert other.post(f"/notices/{notice_id}/read").status_code == 404
    assert "暂无通知" in other.get("/notices").get_data(as_text=True)
    wg = as_user("wg.jianping")
    assert _unread_badge(wg.get("/notices").get_data(as_text=True)) == 1  # still unread


def test_the_centre_needs_a_log_in(app):
    response = app.test_client().get("/notices")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
