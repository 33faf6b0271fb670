"""Fixtures for the worker tests: the test processes deployed, users, a worker factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.models import User
from engine.notify import LogChannel
from engine.worker import Worker

DATA = Path(__file__).parent / "data"


@pytest.fixture
def processes(deploy):
    """Deploy the worker test processes (worker_timer, worker_reminder, worker_messages,
    worker_incidents + its decision table)."""
    return deploy(sorted(DATA.glob("*.bpmn")) + sorted(DATA.glob("*.dmn")))


@pytest.fixture
def make_worker(Session, engine):
    def _make(**kwargs):
        kwargs.setdefault("channels", {"log": LogChannel()})
        kwargs.setdefault("worker_id", "test-worker")
        return Worker(Session, engine, **kwargs)

    return _make


@pytest.fixture
def add_user(Session):
    def _add(username, groups=(), email=None, kind="official", uscc=None, display_name=""):
        with Session.begin() as session:
            session.add(
                User(
                    username=username,
                    password_hash="x",
                    display_name=display_name or username,
                    kind=kind,
                    groups=list(groups),
                    email=email,
                    uscc=uscc,
                )
            )

    return _add


@pytest.fixture(autouse=True)
def _log_channel_only(monkeypatch):
    """New notifications go to the log channel unless a test says otherwise."""
    for name in ("NOTIFY_CHANNELS", "SMTP_HOST", "WEBHOOK_URL"):
        monkeypatch.delenv(f"ZHITONGCHE_{name}", raising=False)
