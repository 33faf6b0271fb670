"""Notification channels: how one message reaches one person (``inapp``: the notification
centre in the web app, ``log``, ``email`` over SMTP, ``webhook`` as WeCom / DingTalk group
robots accept), configured from ``ZHITONGCHE_*`` variables. The outbox and its delivery are in
engine/notify.py; ``inapp`` needs no delivery: its notice is a ``user_notice`` row written in
the transaction that causes it (engine/notices.py)."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

log = logging.getLogger("zhitongche.notify")

CHANNELS = ("inapp", "log", "email", "webhook")
INAPP = "inapp"  # written at once as a user_notice row, never through the outbox


@dataclass
class Recipient:
    username: str
    display_name: str = ""
    email: str | None = None
    phone: str | None = None


@dataclass
class Message:
    id: int
    kind: str
    level: str | None
    subject: str
    body: str
    recipient: Recipient
    channel: str = "log"
    attempts: int = 0


class DeliveryError(Exception):
    """A channel could not send. ``permanent``: retrying will not help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Send or raise DeliveryError (anything else counts as a transient failure)."""


class LogChannel:
    name = "log"

    def send(self, message: Message) -> None:
        log.info("notify %s [%s] %s: %s", message.recipient.username, message.kind, message.subject, message.body)


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "zhitongche@localhost",
        user: str | None = None,
        password: str | None = None,
        security: str = "none",
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.security, self.timeout = user, password, security, timeout

    def send(self, message: Message) -> None:
        to = message.recipient.email
        if not to:
            raise DeliveryError("the recipient has no e-mail address", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = formataddr((message.recipient.display_name or message.recipient.username, to))
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<notification-{message.id}@zhitongche>"  # lets a mail server drop a re-send
        mail.set_content(message.body)
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500 and exc.smtp_code not in (421, 451, 452),
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP server {self.host}:{self.port} unreachable: {exc}") from None


class WebhookChannel:
    """POST ``{"msgtype": "text", "text": {"content": ...}}`` (WeCom / DingTalk group robots)."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0, keyword: str = "") -> None:
        self.url, self.timeout, self.keyword = url, timeout, keyword

    def payload(self, message: Message) -> dict:
        who = message.recipient.display_name or message.recipient.username
        content = f"{self.keyword}{message.subject}\n{message.body}\n@{who}"
        return {"msgtype": "text", "text": {"content": content}}

    def send(self, message: Message) -> None:
        data = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                body = response.read(65536)
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise DeliveryError(f"webhook answered HTTP {exc.code}", permanent=permanent) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"webhook unreachable: {exc}") from None
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return  # a 2xx without JSON: accepted
        if isinstance(answer, dict) and answer.get("errcode", 0) not in (0, None):
            # the robots answer 200 with an error code (rate limit, bad key …): try again later
            raise DeliveryError(f"webhook error {answer.get('errcode')}: {answer.get('errmsg', '')}")


def _env(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(f"ZHITONGCHE_{name}", default)


def channel_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The channels new notifications go to: ``ZHITONGCHE_NOTIFY_CHANNELS`` (comma list), else
    the in-app centre plus email if ``ZHITONGCHE_SMTP_HOST`` is set and webhook if
    ``ZHITONGCHE_WEBHOOK_URL`` is, else plus log."""
    env = os.environ if env is None else env
    explicit = _env(env, "NOTIFY_CHANNELS")
    if explicit.strip():
        names = [n.strip() for n in explicit.split(",") if n.strip()]
        unknown = [n for n in names if n not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown notification channel(s) {unknown}; known: {list(CHANNELS)}")
        return list(dict.fromkeys(names))
    names = []
    if _env(env, "SMTP_HOST"):
        names.append("email")
    if _env(env, "WEBHOOK_URL"):
        names.append("webhook")
    return [INAPP] + (names or ["log"])


def channels_from_env(env: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Every channel the environment configures (the log channel always)."""
    env = os.environ if env is None else env
    channels: dict[str, Channel] = {"log": LogChannel()}
    if _env(env, "SMTP_HOST"):
        channels["email"] = EmailChannel(
            _env(env, "SMTP_HOST"),
            int(_env(env, "SMTP_PORT", "25")),
            _env(env, "SMTP_FROM", "zhitongche@localhost"),
            _env(env, "SMTP_USER") or None,
            _env(env, "SMTP_PASSWORD") or None,
            _env(env, "SMTP_SECURITY", "none").lower(),
        )
    if _env(env, "WEBHOOK_URL"):
        channels["webhook"] = WebhookChannel(_env(env, "WEBHOOK_URL"), keyword=_env(env, "WEBHOOK_KEYWORD"))
    return channels
