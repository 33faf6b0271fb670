"""Operations commands (issue 20): ``files-migrate`` moves attachments from the local upload
folder into the database; ``backup`` and ``restore`` (webapp/cli/backup.py does the work)."""

from __future__ import annotations

import sys

import click

from engine.config import Settings
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import main


@main.command("files-migrate")
@click.option("--remove", is_flag=True, help="delete each local file once it is safely in the database")
def files_migrate(remove: bool) -> None:
    """Move attachments still under ZHITONGCHE_UPLOAD_DIR into the database (idempotent)."""
    from engine.storage import migrate_local_files

    settings = Settings()
    Session = common.session_factory(settings)
    report = migrate_local_files(Session, settings.upload_dir, remove=remove, log=click.echo)
    click.echo(
        f"moved {report.moved}, already {report.already}, missing {len(report.missing)}, "
        f"mismatched {len(report.mismatched)}"
    )
    if report.missing or report.mismatched:
        sys.exit(1)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
def backup(folder: str) -> None:
    """Back up the database (its files included) and any file still on disk into FOLDER (new or
    empty). PostgreSQL: pg_dump custom format; SQLite: the online backup API. Safe while running."""
    from engine.backup import BackupError
    from engine.backup import backup as do_backup
    from engine.db import make_engine

    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        report = do_backup(engine, folder, settings.upload_dir)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    cases = report.counts.get("instance", 0)
    click.echo(
        f"backed up {report.dialect}: {cases} cases, {report.counts.get('stored_file', 0)} files in the "
        f"database, {report.local_files} on disk → {report.folder}"
    )


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--yes", is_flag=True, help="do not ask before replacing the database's content")
def restore(folder: str, yes: bool) -> None:
    """Replace the database's content with the backup in FOLDER. Stop the web processes and
    workers first; run `zhitongche db-upgrade` afterwards if the backup is from an older version."""
    from engine.backup import BackupError, row_counts
    from engine.backup import restore as do_restore
    from engine.db import make_engine

    settings = Settings()
    engine = make_engine(settings.database_url)
    if not yes:
        click.confirm(f"replace everything in {engine.url.render_as_string()} with the backup in {folder}?", abort=True)
    try:
        manifest = do_restore(engine, folder, settings.upload_dir)
        counts = row_counts(engine)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    differ = {t: (n, counts.get(t)) for t, n in manifest["counts"].items() if counts.get(t) != n}
    click.echo(
        f"restored {manifest['dialect']} backup of {manifest['created_at']}: "
        f"{counts.get('instance', 0)} cases, {counts.get('stored_file', 0)} files"
    )
    if differ:
        click.echo(f"row counts differ from the backup's manifest: {differ}", err=True)
        sys.exit(1)
