"""What the ``zhitongche`` commands share: the ``main`` group they register on, the database
session factory, the engine, and the demo users.

Commands call ``common.session_factory(...)`` through this module when they run, so that tests can
replace it (``monkeypatch.setattr(common, "session_factory", …)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import sessionmaker

from engine.config import Settings
from engine.db import make_engine, make_sessionmaker, upgrade

if TYPE_CHECKING:
    from engine.runtime import Engine
    from engine.users import DemoUser
    from engine.workdays import WorkCalendar


@click.group()
def main() -> None:
    """直通车 zhitongche: BPMN case escalation (书记市长直通车)."""
    if os.environ.get("ZHITONGCHE_LOG_FORMAT", "").lower() == "json":  # issue 20: worker logs as JSON too
        from webapp.logs import configure

        configure("json")


def session_factory(settings: Settings, migrate: bool = True) -> sessionmaker:
    """Sessions on the configured database, migrated first unless ``migrate`` is false."""
    db = make_engine(settings.database_url)
    if migrate:
        upgrade(db)
    return make_sessionmaker(db)


def load_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar with the holiday file; a mistake in the file stops the command
    with ``Error: <file> line N: …`` (no traceback)."""
    from engine.workdays import CalendarFileError, WorkCalendar

    try:
        return WorkCalendar.from_file(settings.calendar_file)
    except CalendarFileError as exc:
        raise click.ClickException(str(exc)) from None


def build_engine(settings: Settings) -> Engine:
    from engine.runtime import Engine

    return Engine(calendar=load_calendar(settings), time_limit_s=settings.script_time_limit)


def ensure_demo_users(Session: sessionmaker, settings: Settings) -> tuple[list[DemoUser], str]:
    """The demo users (one per role, unit and county), created when missing, and their password."""
    from engine.names import load_directory
    from engine.users import DEMO_PASSWORD
    from engine.users import ensure_demo_users as ensure

    password = os.environ.get("ZHITONGCHE_DEMO_PASSWORD", DEMO_PASSWORD)
    directory = load_directory(Path(settings.processes_dir) / "directory.json")
    with Session.begin() as session:
        return ensure(session, directory, password), password


def print_login_hints(users: list[DemoUser], password: str, url: str) -> None:
    click.echo("")
    click.echo(f"demo users (password for all: {password})")
    by_role: dict[str, list[str]] = {}
    for u in users:
        role = u.groups[0].split(":", 1)[0] if u.groups else u.kind
        by_role.setdefault(role, []).append(u.username)
    labels = {
        "admin": "admin 系统管理员",
        "designer": "designer 流程设计",
        "wg": "working group 工作组",
        "leader": "leader 领导",
        "unit": "unit handler 经办人",
        "head": "unit head 负责人",
        "enterprise": "enterprise 企业",
    }
    for role, names in by_role.items():
        shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
        click.echo(f"  {labels.get(role, role):24} {shown}")
    click.echo(f"open {url} and log in (e.g. wg.city, unit.zrzyj, head.zrzyj, leader.mayor, ent.demo1)")
    click.echo("")
