"""``bench`` (issue 9): measure the library, the engine, HTTP, loops, inbox/dashboard and timers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from webapp.cli.common import main


@main.command()
@click.option("--quick", is_flag=True, help="small sizes (CI): figures are printed, not asserted")
@click.option("--only", default="abcdef", show_default=True, help="which measurements, e.g. 'abd'")
@click.option(
    "--write",
    "write_to",
    type=click.Path(dir_okay=False),
    default=None,
    help="where to write the figures (default: docs/PERFORMANCE.md, not with --quick)",
)
@click.option("--no-write", is_flag=True, help="print only")
@click.option("--profile", is_flag=True, help="also profile (b) with cProfile and print where the time goes")
@click.option("--keep-data", is_flag=True, help="keep (and reuse) the generated cases of (e) in PostgreSQL")
def bench(quick: bool, only: str, write_to: str | None, no_write: bool, profile: bool, keep_data: bool) -> None:
    """Measure the library, the engine, HTTP, loops, inbox/dashboard and timers (docs/PERFORMANCE.md)."""
    from engine.config import ROOT
    from tooling.bench import PARTS
    from tooling.bench import main as run_bench

    parts = tuple(p for p in PARTS if p in only)
    target = None if no_write else Path(write_to) if write_to else None if quick else ROOT / "docs" / "PERFORMANCE.md"
    result = run_bench(quick=quick, parts=parts, write=target, profile=profile, keep_data=keep_data, echo=click.echo)
    sys.exit(0 if result.passed else 1)
