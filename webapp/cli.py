"""The ``zhitongche`` command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.config import Settings
from engine.db import make_engine, make_sessionmaker, upgrade
from engine.deploy import collect_files, validate_paths
from engine.parsing import BundleError


def _session_factory(settings: Settings, migrate: bool = True):
    db = make_engine(settings.database_url)
    if migrate:
        upgrade(db)
    return make_sessionmaker(db)


def build_engine(settings: Settings):
    from engine.runtime import Engine
    from engine.workdays import WorkCalendar

    return Engine(calendar=WorkCalendar.from_file(settings.calendar_file),
                  time_limit_s=settings.script_time_limit)


@click.group()
def main() -> None:
    """直通车 zhitongche: BPMN case escalation (书记市长直通车)."""


@main.command("db-upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema."""
    _session_factory(Settings())
    click.echo("database is up to date")


@main.command()
@click.option("--by", default="cli", help="who deploys (for the audit)")
def deploy(by: str) -> None:
    """Validate processes/ and forms/ and store changed processes as new versions."""
    settings = Settings()
    Session = _session_factory(settings)
    files = collect_files(settings.processes_dir, settings.forms_dir)
    try:
        with Session.begin() as session:
            result = build_engine(settings).deploy(session, files, by, source=str(settings.processes_dir))
    except BundleError as exc:
        for problem in exc.problems:
            click.echo(f"error   {problem}", err=True)
        click.echo("nothing was deployed", err=True)
        sys.exit(1)
    for line in result.lines():
        click.echo(line)
    if not result.created:
        click.echo("nothing changed")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check BPMN/DMN/form files as deploy does, without storing anything."""
    problems = validate_paths([Path(f) for f in files])
    for problem in problems:
        click.echo(f"error   {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"ok      {len(files)} file(s)")


if __name__ == "__main__":  # pragma: no cover
    main()
