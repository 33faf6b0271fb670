"""``zhitongche doctor``: scan every running case for a hang or a disagreement between its
state and the tables the pages and the worker read (exit code 1 when anything is wrong)."""

from __future__ import annotations

import sys

import click

from engine.config import Settings
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import build_engine, main


@main.command("doctor")
@click.option("--mark", is_flag=True, help="turn running cases found stalled into incidents (流程停滞)")
def doctor(mark: bool) -> None:
    """Find stalled cases (流程停滞) and cases whose task list or timer disagrees with their state."""
    from engine.doctor import scan

    settings = Settings()
    Session = common.session_factory(settings, migrate=False)
    with Session.begin() as session:
        report = scan(session, build_engine(settings), mark=mark)
    for finding in report.findings:
        click.echo(finding.line())
    stalled = sum(1 for f in report.findings if "stalled" in f.problem)
    click.echo(
        f"checked {report.checked} case(s) (running or in error, {report.incidents} incident(s)): "
        f"{stalled} stalled, {len(report.findings) - stalled} other problem(s)"
    )
    if not report.ok:
        sys.exit(1)
