"""Backup and restore of everything a site holds: the database — which also holds the files
(engine/storage.py) — plus any attachment still in the old upload folder.

PostgreSQL: ``pg_dump`` in its custom format (``-Fc``; consistent while the site runs) and
``pg_restore --clean --if-exists --single-transaction``. SQLite: the online backup API of the
``sqlite3`` module (consistent while the site runs), restored the same way into the database
file. A backup folder holds ``manifest.json`` (what, when, the schema revision, row counts),
the dump and ``uploads/`` when files were still on disk. No web here.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from .models import Base

PG_DUMP = "zhitongche.dump"
SQLITE_COPY = "zhitongche.db"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot go on (the message says why)."""


def libpq_url(engine: Engine) -> str:
    """The engine's URL as pg_dump / pg_restore take it (no SQLAlchemy driver suffix)."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _schema(engine: Engine) -> str | None:
    """The schema the site lives in when it is not the default (ZHITONGCHE_DB_SCHEMA)."""
    return os.environ.get("ZHITONGCHE_DB_SCHEMA") or None


def _sqlite_file(engine: Engine) -> str:
    if not engine.url.database:
        raise BackupError("an in-memory SQLite database has no file to back up or restore")
    return engine.url.database


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar() or 0 for t in Base.metadata.sorted_tables
        }


def revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("select version_num from alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database made without Alembic (tests) has no revision
        return None


@dataclass
class BackupReport:
    folder: Path
    dialect: str
    counts: dict[str, int]
    local_files: int


def backup(engine: Engine, folder: str | Path, upload_dir: str | Path | None = None) -> BackupReport:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new folder")
    dialect = engine.dialect.name
    counts = row_counts(engine)
    if dialect == "postgresql":
        args = ["pg_dump", "--format=custom", "--no-owner", "--file", str(folder / PG_DUMP)]
        if schema := _schema(engine):
            args += ["--schema", schema]
        _run(args + ["--dbname", libpq_url(engine)])
    elif dialect == "sqlite":
        source = sqlite3.connect(_sqlite_file(engine))
        target = sqlite3.connect(folder / SQLITE_COPY)
        try:
            with target:
                source.backup(target)  # online: pages copied while others keep writing
        finally:
            target.close()
            source.close()
    else:
        raise BackupError(f"no backup for {dialect}")
    local = 0
    if upload_dir and Path(upload_dir).is_dir() and any(p.is_file() for p in Path(upload_dir).rglob("*")):
        shutil.copytree(upload_dir, folder / "uploads")
        local = sum(1 for p in (folder / "uploads").rglob("*") if p.is_file())
    manifest = {
        "format": 1,
        "dialect": dialect,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "revision": revision(engine),
        "schema": _schema(engine),
        "counts": counts,
        "local_files": local,
        "file": PG_DUMP if dialect == "postgresql" else SQLITE_COPY,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return BackupReport(folder, dialect, counts, local)


def restore(engine: Engine, folder: str | Path, upload_dir: str | Path | None = None) -> dict:
    """Replace the database's content by the backup's; returns the manifest. Stop the web
    processes and workers first: a restore replaces every table."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} holds no readable {MANIFEST}: {exc}") from None
    dialect = engine.dialect.name
    if manifest.get("dialect") != dialect:
        raise BackupError(f"the backup is of {manifest.get('dialect')}, the database is {dialect}")
    engine.dispose()
    if dialect == "postgresql":
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                libpq_url(engine),
                str(folder / PG_DUMP),
            ]
        )
    else:
        source = sqlite3.connect(folder / SQLITE_COPY)
        target = sqlite3.connect(_sqlite_file(engine))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    engine.dispose()
    if (folder / "uploads").is_dir() and upload_dir:
        shutil.copytree(folder / "uploads", upload_dir, dirs_exist_ok=True)
    return manifest


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)") from None
    if done.returncode != 0:
        # never echo the URL: it may hold a password
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[:2000]}")


__all__ = ["BackupError", "BackupReport", "backup", "restore", "row_counts", "revision", "libpq_url"]
