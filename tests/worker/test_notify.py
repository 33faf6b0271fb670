"""Notifications: outbox rows per recipient, delivered by e-mail (a local SMTP server), a
JSON webhook (a local HTTP server) or the log; retried with backoff, sent once."""

from __future__ import annotations

import datetime as _dt
import email
import email.policy
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from engine import delivery, notify
from engine.models import Instance, Notification

# -- local servers ----------------------------------------------------------------------


class SmtpServer:
    """aiosmtpd on 127.0.0.1; ``messages`` holds what it received."""

    def __init__(self, port: int = 0):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookServer:
    """A robot endpoint on 127.0.0.1: records JSON bodies, answers ``self.answer``."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.answer: tuple[int, dict] = (200, {"errcode": 0, "errmsg": "ok"})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                status, answer = outer.answer
                if status == 200 and answer.get("errcode", 0) == 0:
                    outer.bodies.append(json.loads(self.rfile.read(length)))
                else:
                    self.rfile.read(length)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test"

    def __enter__(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def rows(Session, **where):
    with Session() as session:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return session.scalars(query).all()


# -- creating notifications -------------------------------------------------------------


def test_new_human_task_notifies_each_member_of_its_groups(Session, engine, clock, processes, add_user):
    add_user("li", ["unit:zrzyj", "head:zrzyj"])
    add_user("wang", ["unit:zrzyj"])
    add_user("zhao", ["unit:fgw"])
    add_user("gone", ["unit:zrzyj"])
    with Session.begin() as session:
        session.scalars(select(notify.User).where(notify.User.username == "gone")).one().active = False
        iid = engine.start(session, "worker_reminder", {"unit": "zrzyj"}, business_key="ZTC-7").id
    # the step names the groups, not the people (issue 18: no user lookup in a completion) …
    (queued,) = rows(Session)
    assert (queued.channel, queued.groups, queued.recipient, queued.status) == ("groups", ["unit:zrzyj"], "", "pending")
    add_user("chen", ["unit:zrzyj"])  # … so who is told is decided when it is sent
    assert notify.expand_due(Session, clock.now()) == 1
    assert notify.expand_due(Session, clock.now()) == 0  # resolved once
    found = rows(Session, channel="log")
    assert [(n.recipient, n.kind, n.channel, n.status) for n in found] == [
        ("chen", "assignment", "log", "pending"),
        ("li", "assignment", "log", "pending"),
        ("wang", "assignment", "log", "pending"),
    ]
    assert all(n.instance_id == iid and n.task_id == queued.task_id is not None for n in found)
    assert "ZTC-7" in found[0].body and "Handle" in found[0].subject
    assert rows(Session, channel="groups")[0].status == "sent"


def test_groups_of_enterprises_and_admins(Session, add_user):
    add_user("ent", [], kind="enterprise", uscc="91110000600037341L")
    add_user("root", [], kind="admin")
    add_user("both", ["wg:city", "admin"])
    with Session() as session:
        names = lambda groups: notify.usernames_in_groups(session, groups)  # noqa: E731
        assert names(["enterprise:91110000600037341L"]) == ["ent"]
        assert names(["admin"]) == ["both", "root"]
        assert names(["wg:city"]) == ["both"]
        assert names([]) == [] and names(["nobody"]) == []


def test_process_asks_for_a_warning_with_the_notify_property(Session, engine, clock, processes, add_user, make_worker):
    add_user("li", ["unit:zrzyj"])
    add_user("boss", ["wg:city", "unit:zrzyj"])
    with Session.begin() as session:
        iid = engine.start(session, "worker_reminder", {"unit": "zrzyj"}).id
    clock.advance(hours=2)
    make_worker(channels={}).fire_due_timers()  # no channel here: rows stay pending
    notify.expand_due(Session, clock.now())
    warnings = rows(Session, kind="warning", channel="log")
    assert [(n.recipient, n.level, n.subject) for n in warnings] == [
        ("boss", "yellow", "【直通车】黄灯预警"),
        ("li", "yellow", "【直通车】黄灯预警"),
    ]
    assert "案件即将到期" in warnings[0].body
    with Session() as session:
        assert session.get(Instance, iid).summary == {"warning": "yellow"}


def test_notify_value_must_be_a_dict(Session, engine, processes):
    with Session() as session:
        instance = Instance(id=1)
        with pytest.raises(notify.NotifyRequestError):
            notify.requested(session, instance, ["boss"], _dt.datetime.now(_dt.UTC))
        assert notify.requested(session, instance, None, _dt.datetime.now(_dt.UTC)) == []


def test_channels_follow_the_environment():
    assert notify.channel_names({}) == ["inapp", "log"]
    env = {"ZHITONGCHE_SMTP_HOST": "smtp.example", "ZHITONGCHE_WEBHOOK_URL": "http://robot"}
    assert notify.channel_names(env) == ["inapp", "email", "webhook"]
    assert sorted(notify.channels_from_env(env)) == ["email", "log", "webhook"]
    assert notify.channel_names({"ZHITONGCHE_NOTIFY_CHANNELS": "log, webhook"}) == ["log", "webhook"]
    with pytest.raises(ValueError):
        notify.channel_names({"ZHITONGCHE_NOTIFY_CHANNELS": "sms"})


# -- delivering them ---------------------------------------------------------------------


def enqueue(Session, clock, recipients, channel):
    with Session.begin() as session:
        notify.enqueue(
            session,
            kind="notice",
            recipients=recipients,
            subject="【直通车】测试",
            body="案件 ZTC-1：请处理",
            now=clock.now(),
            channels=[channel],
        )


def test_log_channel_delivers(Session, clock, make_worker, add_user, caplog):
    enqueue(Session, clock, ["li"], "log")
    with caplog.at_level("INFO", logger="zhitongche.notify"):
        stats = make_worker().step().notifications
    assert stats.sent == 1
    [row] = rows(Session)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, clock.now())
    assert "【直通车】测试" in caplog.text


def test_email_over_smtp_with_retry_while_the_server_is_down(Session, clock, make_worker, add_user):
    add_user("li", ["unit:zrzyj"], email="li@example.gov.cn", display_name="李明")
    add_user("noaddr", ["unit:zrzyj"])
    enqueue(Session, clock, ["li", "noaddr"], "email")
    port = free_port()
    channel = notify.EmailChannel("127.0.0.1", port, sender="zhitongche@example.gov.cn", timeout=5)
    worker = make_worker(channels={"email": channel})
    stats = worker.step().notifications  # nothing listens on the port yet
    assert (stats.retried, stats.skipped, stats.sent) == (1, 1, 0)
    [row] = rows(Session, recipient="li")
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in row.last_error
    assert row.next_attempt_at == clock.now() + _dt.timedelta(seconds=delivery.BACKOFF_BASE_S)
    assert rows(Session, recipient="noaddr")[0].status == "skipped"
    with SmtpServer(port) as smtp:
        assert worker.step().notifications.sent == 0  # backing off: not due yet
        clock.advance(seconds=delivery.BACKOFF_BASE_S + 1)
        assert worker.step().notifications.sent == 1
        assert worker.step().notifications.sent == 0  # sent once
    [mail] = smtp.messages
    assert mail["Subject"] == "【直通车】测试" and "li@example.gov.cn" in mail["To"] and "李明" in mail["To"]
    assert mail.get_content().strip() == "案件 ZTC-1：请处理"
    assert rows(Session, recipient="li")[0].status == "sent"


def test_backoff_grows_and_is_capped():
    assert [delivery.backoff(n, 30, 3600).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_webhook_robot_message(Session, clock, make_worker, add_user):
    add_user("li", ["unit:zrzyj"], display_name="李明")
    enqueue(Session, clock, ["li"], "webhook")
    with WebhookServer() as robot:
        worker = make_worker(channels={"webhook": notify.WebhookChannel(robot.url)}, backoff_base_s=0)
        robot.answer = (500, {})
        assert worker.step().notifications.retried == 1
        robot.answer = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})  # the robot's rate limit
        assert worker.step().notifications.retried == 1
        robot.answer = (200, {"errcode": 0, "errmsg": "ok"})
        assert worker.step().notifications.sent == 1
        assert worker.step().notifications.sent == 0
        assert robot.bodies == [{"msgtype": "text", "text": {"content": "【直通车】测试\n案件 ZTC-1：请处理\n@李明"}}]
    [row] = rows(Session)
    assert (row.status, row.attempts) == ("sent", 3)


def test_webhook_refusal_is_permanent(Session, clock, make_worker):
    enqueue(Session, clock, ["li"], "webhook")
    with WebhookServer() as robot:
        robot.answer = (404, {})
        stats = make_worker(channels={"webhook": notify.WebhookChannel(robot.url)}).step().notifications
    assert stats.failed == 1
    [row] = rows(Session)
    assert row.status == "failed" and "404" in row.last_error
    with Session.begin() as session:
        assert delivery.requeue_failed(session, clock.now()) == 1
    assert rows(Session)[0].status == "pending"


def test_channel_not_configured_in_this_worker_keeps_the_row(Session, clock, make_worker):
    enqueue(Session, clock, ["li"], "email")
    assert make_worker(channels={}).step().notifications.retried == 1
    assert rows(Session)[0].status == "pending"


def test_expired_claim_is_sent_again(Session, clock, make_worker):
    enqueue(Session, clock, ["li"], "log")
    with Session.begin() as session:  # a worker claimed it and died before recording the result
        row = session.scalars(select(Notification)).one()
        row.status, row.claimed_by, row.claimed_at, row.attempts = "sending", "dead", clock.now(), 1
    worker = make_worker()
    assert worker.step().notifications.sent == 0  # the claim still holds
    clock.advance(seconds=delivery.CLAIM_LEASE.total_seconds() + 1)
    assert worker.step().notifications.sent == 1


class SlowLog:
    name = "log"

    def __init__(self):
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def send(self, message):
        time.sleep(0.002)
        with self.lock:
            self.sent.append(message.id)


def test_two_workers_never_send_the_same_row(Session, engine, clock, make_worker):
    enqueue(Session, clock, [f"user{i}" for i in range(120)], "log")
    channel = SlowLog()
    workers = [make_worker(worker_id=f"w{i}", channels={"log": channel}, notify_batch=7) for i in range(3)]
    errors = []

    def drain(worker):
        try:
            worker.run(once=True)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(channel.sent) == sorted(set(channel.sent)) and len(channel.sent) == 120
    assert {r.status for r in rows(Session)} == {"sent"}
    assert sum(w.totals.notifications.sent for w in workers) == 120


def test_groups_resolved_by_several_workers_tell_each_member_once(Session, clock, make_worker, add_user):
    for i in range(12):
        add_user(f"member{i}", ["unit:zrzyj"] if i % 2 else ["unit:zrzyj", "head:zrzyj"])
    with Session.begin() as session:
        for n in range(9):
            notify.enqueue_groups(
                session,
                kind="warning",
                groups=["unit:zrzyj", "head:zrzyj"],
                subject=f"【直通车】预警 {n}",
                body="案件 ZTC-1：请处理",
                now=clock.now(),
            )
    channel = SlowLog()
    workers = [make_worker(worker_id=f"w{i}", channels={"log": channel}, notify_batch=4) for i in range(3)]
    errors = []

    def drain(worker):
        try:
            for _ in range(40):  # passes until the outbox is empty (each sends at most its batch)
                worker.step()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    told = [(r.recipient, r.subject) for r in rows(Session, channel="log")]
    assert len(told) == len(set(told)) == 9 * 12  # every member once per warning, in both groups or one
    assert {r.status for r in rows(Session)} == {"sent"} and len(channel.sent) == 9 * 12
