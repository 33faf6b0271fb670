"""Designer commands: deploy, validate, diff, migrate, test-process."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.config import Settings
from engine.deploy import collect_files, validate_paths
from engine.parsing import BundleError
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import build_engine, main


def deploy_from_files(Session, settings: Settings, by: str, force: bool = False):
    """Deploy processes/ and forms/ as `deploy` and `run` do: a process is stored only when its
    files changed since the last deploy from files, never over a newer web/API version unless
    ``force`` (engine/deployguard.py). Raises BundleError or DeployConflict; stores nothing then."""
    files = collect_files(settings.processes_dir, settings.forms_dir)
    with Session.begin() as session:
        return build_engine(settings).deploy(
            session,
            files,
            by,
            source=f"files: {settings.processes_dir}"[:200],
            origin="files",
            force=force,
            scenario_dir=settings.processes_dir,
        )


def echo_conflict(exc) -> None:
    for item in exc.superseded:
        click.echo(f"refused {item.message()}", err=True)
        if item.diff:
            click.echo(item.diff, err=True)


def deploy_quietly(Session, settings: Settings) -> None:
    """`run`'s deploy step: the files, unless a newer web/API version would be superseded."""
    from engine.deployguard import DeployConflict

    files = collect_files(settings.processes_dir, settings.forms_dir)
    if not any(name.endswith((".bpmn", ".bpmn20.xml")) for name in files):
        click.echo(f"no process files in {settings.processes_dir}; nothing deployed")
        return
    try:
        result = deploy_from_files(Session, settings, "run")
    except BundleError as exc:
        for problem in exc.problems:
            click.echo(f"error   {problem}", err=True)
        click.echo("the process files have problems; running with the versions deployed before", err=True)
        return
    except DeployConflict as exc:
        echo_conflict(exc)
        click.echo(
            "the files were not deployed; running with the versions deployed before "
            "(`zhitongche export PROCESS` to take the newer version into the files, "
            "`zhitongche deploy --force` to deploy the files over it)",
            err=True,
        )
        return
    for line in result.lines():
        click.echo(line)


@main.command()
@click.option("--by", default="cli", help="who deploys (for the audit)")
@click.option("--force", is_flag=True, help="deploy changed files even over a newer version made on the web/API")
def deploy(by: str, force: bool) -> None:
    """Validate processes/ and forms/ and store changed processes as new versions."""
    from engine.deployguard import DeployConflict

    settings = Settings()
    try:
        result = deploy_from_files(common.session_factory(settings), settings, by, force)
    except BundleError as exc:
        for problem in exc.problems:
            click.echo(f"error   {problem}", err=True)
        click.echo("nothing was deployed", err=True)
        sys.exit(1)
    except DeployConflict as exc:
        echo_conflict(exc)
        click.echo(
            "nothing was deployed (zhitongche export PROCESS writes the newer version into the files; "
            "--force deploys over it)",
            err=True,
        )
        sys.exit(1)
    for line in result.lines():
        click.echo(line)
    if not result.created:
        click.echo("nothing changed")


@main.command()
@click.argument("process")
@click.option("--version", "version", type=int, default=None, help="the version (default: the latest)")
def export(process: str, version: int | None) -> None:
    """Write a deployed version's files back into processes/ and forms/ (to commit web edits)."""
    from engine.errors import EngineError
    from engine.parsing import is_form

    settings = Settings()
    Session = common.session_factory(settings)
    try:
        with Session() as session:
            found = build_engine(settings).version(session, process, version)
            files, number = dict(found.files), found.version
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    for name, text in sorted(files.items()):
        folder = Path(settings.forms_dir if is_form(name) else settings.processes_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        old = target.read_text(encoding="utf-8") if target.is_file() else None
        if old != text:
            target.write_text(text, encoding="utf-8")
        click.echo(f"{'same' if old == text else 'wrote':<8}{target}")
    click.echo(f"exported {process} v{number}")


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


@main.command()
@click.argument("process")
@click.argument("v_from", type=int)
@click.argument("v_to", type=int)
def diff(process: str, v_from: int, v_to: int) -> None:
    """Activities added, removed and changed between two versions of PROCESS."""
    from engine.errors import EngineError
    from engine.versions import diff_versions

    settings = Settings()
    Session = common.session_factory(settings)
    try:
        with Session() as session:
            result = diff_versions(session, build_engine(settings), process, v_from, v_to)
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    for line in result.lines():
        click.echo(line)
    if result.is_empty:
        click.echo(f"no activity changed between v{v_from} and v{v_to}")


@main.command()
@click.argument("process")
@click.option("--to", "to_version", type=int, default=None, help="target version (default: the latest)")
@click.option("--instance", "instance_ids", type=int, multiple=True, help="an instance to move (repeatable)")
@click.option("--all", "all_instances", is_flag=True, help="move every running instance that can move")
@click.option("--dry-run", is_flag=True, help="only show what would happen")
@click.option("--by", default="cli", help="who migrates (for the audit)")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="OLD=NEW",
    help="move tasks of the removed activity OLD to the activity NEW of the target version (repeatable; "
    "PROCESS/OLD when the id is in more than one process)",
)
def migrate(
    process: str,
    to_version: int | None,
    instance_ids: tuple[int, ...],
    all_instances: bool,
    dry_run: bool,
    by: str,
    maps: tuple[str, ...],
) -> None:
    """Move running instances of PROCESS to another version (preview with --dry-run)."""
    from engine.errors import EngineError
    from engine.migration import migrate as migrate_instances
    from engine.migrationmap import parse_pairs

    if not instance_ids and not all_instances and not dry_run:
        raise click.UsageError("name instances with --instance ID, or use --all (or --dry-run to preview)")
    if instance_ids and all_instances:
        raise click.UsageError("use either --instance or --all")
    settings = Settings()
    Session = common.session_factory(settings)
    try:
        mapping = parse_pairs(maps)
        with Session.begin() as session:
            results = migrate_instances(
                session,
                build_engine(settings),
                process,
                to_version,
                list(instance_ids) or None,
                actor=by,
                dry_run=dry_run,
                mapping=mapping,
            )
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    for result in results:
        click.echo(result.line())
    if not results:
        click.echo("no running instance on another version")
    refused = [r for r in results if not r.can_migrate]
    needs = {
        n["element_id"] if n["process_id"] == process else f"{n['process_id']}/{n['element_id']}"
        for r in refused
        for n in r.needs_mapping
    }
    for old in sorted(needs):
        click.echo(f"hint    --map {old}=NEW moves its tasks to the activity NEW of the target version")
    if dry_run:
        click.echo(f"dry run: {len(results) - len(refused)} can move, {len(refused)} cannot; nothing changed")
    elif refused and instance_ids:
        sys.exit(1)


@main.command("test-process")
@click.argument("files", nargs=-1, type=click.Path(exists=True))
def test_process(files: tuple[str, ...]) -> None:
    """Run process scenario files (default: processes/*.scenarios.json) on a throwaway database."""
    from engine.runtime import Engine
    from engine.scenarios import find_scenario_files, run_file

    settings = Settings()
    paths = find_scenario_files(list(files) or [settings.processes_dir])
    if not paths:
        click.echo("no *.scenarios.json found", err=True)
        sys.exit(1)
    calendar = common.load_calendar(settings)
    failed = total = 0
    for path in paths:
        for result in run_file(path, Engine, calendar):
            total += 1
            failed += not result.passed
            click.echo(result.line())
    click.echo(f"{total - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
