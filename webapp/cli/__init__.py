"""The ``zhitongche`` command line.

The group ``main`` and the helpers the commands share live here; the commands live in
``processes`` (deploy, validate, diff, migrate, test-process), ``serve`` (run, worker),
``admin`` (db-upgrade, stats-rebuild, demo-users, demo, token), ``users`` (user …) and ``bench``, which are
imported at the bottom so that their commands register on ``main``.
"""
from __future__ import annotations

import click

from engine.config import Settings
from engine.db import make_engine, make_sessionmaker, upgrade


def _session_factory(settings: Settings, migrate: bool = True):
    db = make_engine(settings.database_url)
    if migrate:
        upgrade(db)
    return make_sessionmaker(db)


def load_calendar(settings: Settings):
    """The working-day calendar with the holiday file; a mistake in the file stops the command
    with ``Error: <file> line N: …`` (no traceback)."""
    from engine.workdays import CalendarFileError, WorkCalendar

    try:
        return WorkCalendar.from_file(settings.calendar_file)
    except CalendarFileError as exc:
        raise click.ClickException(str(exc)) from None


def build_engine(settings: Settings):
    from engine.runtime import Engine

    return Engine(calendar=load_calendar(settings), time_limit_s=settings.script_time_limit)


@click.group()
def main() -> None:
    """直通车 zhitongche: BPMN case escalation (书记市长直通车)."""
    import os

    if os.environ.get("ZHITONGCHE_LOG_FORMAT", "").lower() == "json":  # issue 20: worker logs as JSON too
        from webapp.logs import configure

        configure("json")


# the command modules register their commands on ``main``; keep these imports after ``main``
from webapp.cli import admin, bench, doctor, ops, processes, serve, users  # noqa: F401
