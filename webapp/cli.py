"""The ``zhitongche`` command line."""
from __future__ import annotations

import os
import subprocess
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


@main.command("stats-rebuild")
def stats_rebuild() -> None:
    """Recompute the statistics rollups (stats_*) from case_record and case_unit."""
    from engine import stats

    Session = _session_factory(Settings())
    with Session.begin() as session:
        counts = stats.rebuild_rollups(session)
    click.echo("rollups rebuilt: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


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


@main.command()
@click.argument("process")
@click.argument("v_from", type=int)
@click.argument("v_to", type=int)
def diff(process: str, v_from: int, v_to: int) -> None:
    """Activities added, removed and changed between two versions of PROCESS."""
    from engine.errors import EngineError
    from engine.versions import diff_versions

    settings = Settings()
    Session = _session_factory(settings)
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
def migrate(process: str, to_version: int | None, instance_ids: tuple[int, ...], all_instances: bool,
            dry_run: bool, by: str) -> None:
    """Move running instances of PROCESS to another version (preview with --dry-run)."""
    from engine.errors import EngineError
    from engine.versions import migrate as migrate_instances

    if not instance_ids and not all_instances and not dry_run:
        raise click.UsageError("name instances with --instance ID, or use --all (or --dry-run to preview)")
    if instance_ids and all_instances:
        raise click.UsageError("use either --instance or --all")
    settings = Settings()
    Session = _session_factory(settings)
    try:
        with Session.begin() as session:
            results = migrate_instances(session, build_engine(settings), process, to_version,
                                        list(instance_ids) or None, actor=by, dry_run=dry_run)
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    for result in results:
        click.echo(result.line())
    if not results:
        click.echo("no running instance on another version")
    refused = [r for r in results if not r.can_migrate]
    if dry_run:
        click.echo(f"dry run: {len(results) - len(refused)} can move, {len(refused)} cannot; nothing changed")
    elif refused and instance_ids:
        sys.exit(1)


@main.command("test-process")
@click.argument("files", nargs=-1, type=click.Path(exists=True))
def test_process(files: tuple[str, ...]) -> None:
    """Run process scenario files (default: processes/*.scenarios.json) on a throwaway database."""
    from engine.scenarios import find_scenario_files, run_file
    from engine.workdays import WorkCalendar

    settings = Settings()
    paths = find_scenario_files(list(files) or [settings.processes_dir])
    if not paths:
        click.echo("no *.scenarios.json found", err=True)
        sys.exit(1)
    calendar = WorkCalendar.from_file(settings.calendar_file)
    failed = total = 0
    for path in paths:
        for result in run_file(path, calendar):
            total += 1
            failed += not result.passed
            click.echo(result.line())
    click.echo(f"{total - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--once", is_flag=True, help="fire what is due now, send what is pending, then exit")
@click.option("--poll", "poll", type=float, default=None,
              help="seconds between passes when idle (default ZHITONGCHE_WORKER_POLL_SECONDS or 2)")
@click.option("--id", "worker_id", default=None, help="worker id in the heartbeat table (default host:pid:random)")
def worker(once: bool, poll: float | None, worker_id: str | None) -> None:
    """Fire due timers and send notifications; SIGTERM stops it after the current step."""
    import logging

    from engine.worker import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    # the schema is migrated by `db-upgrade` / `run`; several workers must not race to do it
    Session = _session_factory(settings, migrate=False)
    totals = run_forever(Session, build_engine(settings), once=once,
                         poll_seconds=poll if poll is not None else settings.worker_poll_seconds,
                         worker_id=worker_id)
    if once:
        click.echo(f"fired {totals.fired}, incidents {totals.incidents}, notifications sent "
                   f"{totals.notifications.sent}")
        if totals.db_errors:
            sys.exit(1)



# -- web app: demo users and `run` (issue 4) --------------------------------------------------
def _ensure_demo_users(Session, settings: Settings):
    from engine.names import load_directory
    from engine.users import DEMO_PASSWORD, ensure_demo_users

    password = os.environ.get("ZHITONGCHE_DEMO_PASSWORD", DEMO_PASSWORD)
    directory = load_directory(Path(settings.processes_dir) / "directory.json")
    with Session.begin() as session:
        return ensure_demo_users(session, directory, password), password


def _print_login_hints(users, password: str, url: str) -> None:
    click.echo("")
    click.echo(f"demo users (password for all: {password})")
    by_role: dict[str, list[str]] = {}
    for u in users:
        role = u.groups[0].split(":", 1)[0] if u.groups else u.kind
        by_role.setdefault(role, []).append(u.username)
    labels = {"admin": "admin 系统管理员", "designer": "designer 流程设计", "wg": "working group 工作组",
              "leader": "leader 领导", "unit": "unit handler 经办人", "head": "unit head 负责人",
              "enterprise": "enterprise 企业"}
    for role, names in by_role.items():
        shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
        click.echo(f"  {labels.get(role, role):24} {shown}")
    click.echo(f"open {url} and log in (e.g. wg.city, unit.zrzyj, head.zrzyj, leader.mayor, ent.demo1)")
    click.echo("")


@main.command("demo-users")
def demo_users_command() -> None:
    """Create the demo users (one per role, unit and county) if missing, and list them."""
    settings = Settings()
    users, password = _ensure_demo_users(_session_factory(settings), settings)
    _print_login_hints(users, password, f"http://{settings.host}:{settings.port}/")


def _deploy_quietly(Session, settings: Settings) -> None:
    files = collect_files(settings.processes_dir, settings.forms_dir)
    if not any(name.endswith((".bpmn", ".bpmn20.xml")) for name in files):
        click.echo(f"no process files in {settings.processes_dir}; nothing deployed")
        return
    try:
        with Session.begin() as session:
            result = build_engine(settings).deploy(session, files, "run", source=str(settings.processes_dir))
    except BundleError as exc:
        for problem in exc.problems:
            click.echo(f"error   {problem}", err=True)
        click.echo("the process files have problems; running with the versions deployed before", err=True)
        return
    for line in result.lines():
        click.echo(line)


def _start_worker() -> "subprocess.Popen | None":
    if "worker" not in main.commands:
        # the timer worker is not part of this build: deadlines and timers will not fire
        click.echo("warning: no `worker` command; timers will not fire", err=True)
        return None
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", "worker"])


@main.command()
@click.option("--dev", is_flag=True, help="werkzeug's threaded server instead of gunicorn")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes")
@click.option("--no-worker", is_flag=True, help="do not start the timer worker")
def run(dev: bool, workers: int, no_worker: bool) -> None:
    """Migrate, deploy processes/ and forms/, create demo users, then serve the web app and
    run the timer worker (port ZHITONGCHE_PORT, default 5000, host ZHITONGCHE_HOST)."""
    import signal

    settings = Settings()
    Session = _session_factory(settings)  # migrates
    click.echo("database is up to date")
    _deploy_quietly(Session, settings)
    users, password = _ensure_demo_users(Session, settings)
    url = f"http://{settings.host}:{settings.port}/"
    _print_login_hints(users, password, url)
    worker_process = None if no_worker else _start_worker()

    def stop_worker(*_args):
        if worker_process is not None and worker_process.poll() is None:
            worker_process.terminate()
            try:
                worker_process.wait(timeout=10)
            except Exception:  # noqa: BLE001
                worker_process.kill()

    try:
        if dev:
            from werkzeug.serving import run_simple

            from webapp import create_app

            signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
            run_simple(settings.host, settings.port, create_app(), threaded=True, use_reloader=False)
        else:
            _serve_gunicorn(settings, workers, on_exit=stop_worker)
    finally:
        stop_worker()


def _serve_gunicorn(settings: Settings, workers: int, on_exit) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", max(1, workers))
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 60)
            self.cfg.set("accesslog", "-")
            self.cfg.set("on_exit", lambda _server: on_exit())

        def load(self):
            from webapp import create_app

            return create_app()

    _App().run()


# -- benchmark (issue 9) -----------------------------------------------------------------------
@main.command()
@click.option("--quick", is_flag=True, help="small sizes (CI): figures are printed, not asserted")
@click.option("--only", default="abcdef", show_default=True, help="which measurements, e.g. 'abd'")
@click.option("--write", "write_to", type=click.Path(dir_okay=False), default=None,
              help="where to write the figures (default: docs/PERFORMANCE.md, not with --quick)")
@click.option("--no-write", is_flag=True, help="print only")
@click.option("--profile", is_flag=True, help="also profile (b) with cProfile and print where the time goes")
@click.option("--keep-data", is_flag=True, help="keep (and reuse) the generated cases of (e) in PostgreSQL")
def bench(quick: bool, only: str, write_to: str | None, no_write: bool, profile: bool, keep_data: bool) -> None:
    """Measure the library, the engine, HTTP, loops, inbox/dashboard and timers (docs/PERFORMANCE.md)."""
    from engine.bench import PARTS
    from engine.bench import main as run_bench
    from engine.config import ROOT

    parts = tuple(p for p in PARTS if p in only)
    target = None if no_write else Path(write_to) if write_to else None if quick else ROOT / "docs" / "PERFORMANCE.md"
    result = run_bench(quick=quick, parts=parts, write=target, profile=profile, keep_data=keep_data, echo=click.echo)
    sys.exit(0 if result.passed else 1)



# -- demo data (issue 8) ---------------------------------------------------------------------
@main.command("demo")
@click.option("--history", is_flag=True, help="generate the history since 2019-09 (the article's figures)")
@click.option("--until", default=None, help="last day of the history (YYYY-MM-DD; default: today)")
def demo_command(history: bool, until: str | None) -> None:
    """Demo data: users, and with --history a plausible history from 2019-09 to today whose
    dashboard shows exactly the article's figures (257 problems solved, 236 enterprises …).

    Every case runs through the real processes on a fake clock (a few minutes); run it on an
    empty database."""
    import datetime as _dt

    from sqlalchemy import func, select

    from engine import history as history_mod
    from engine.clock import FakeClock
    from engine.models import Instance
    from engine.workdays import CHINA

    settings = Settings()
    Session = _session_factory(settings)
    _deploy_quietly(Session, settings)
    users, password = _ensure_demo_users(Session, settings)
    if history:
        with Session() as session:
            if session.scalar(select(func.count()).select_from(Instance)):
                click.echo("the database already has instances; --history needs an empty database", err=True)
                sys.exit(1)
        end = _dt.date.fromisoformat(until) if until else _dt.datetime.now(CHINA).date()
        clock = FakeClock(_dt.datetime(2019, 9, 1, 9, 0, tzinfo=CHINA))
        engine = build_engine(settings)
        engine.clock = clock
        made = history_mod.generate(Session, engine, clock, end=end, log=click.echo)
        click.echo(f"history until {end}: {made}")
    _print_login_hints(users, password, f"http://{settings.host}:{settings.port}/stats")

# -- API tokens (issue 6) ---------------------------------------------------------------------
@main.group()
def token() -> None:
    """Per-user API tokens (Authorization: Bearer …); only their hash is stored."""


def _user_or_exit(session, username: str):
    from engine.users import find_user

    user = find_user(session, username)
    if user is None:
        click.echo(f"error   no user '{username}'", err=True)
        sys.exit(1)
    return user


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="what the token is for")
def token_create(username: str, name: str) -> None:
    """Create a token for USERNAME and print it (it is shown this once only)."""
    from engine.errors import EngineError
    from engine.tokens import create_token

    Session = _session_factory(Settings())
    try:
        with Session.begin() as session:
            row, secret = create_token(session, _user_or_exit(session, username), name)
            token_id = row.id
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} for {username} (shown once; store it safely):", err=True)
    click.echo(secret)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """The tokens of USERNAME (id, name, created, last used, revoked)."""
    from engine.tokens import tokens_of

    Session = _session_factory(Settings())
    with Session() as session:
        for row in session.scalars(tokens_of(session, _user_or_exit(session, username))):
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
            click.echo(f"{row.id:6}  {row.name or '-':20}  {row.created_at:%Y-%m-%d %H:%M}  {used:16}  {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke the token with this id (any user's: this is the administrator's command)."""
    from engine.errors import EngineError
    from engine.tokens import revoke_token

    Session = _session_factory(Settings())
    try:
        with Session.begin() as session:
            revoke_token(session, None, token_id)
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} revoked")


if __name__ == "__main__":  # pragma: no cover
    main()
