"""Where the bytes of uploaded files live: one small interface, ``FileStore``.

``DatabaseStore`` (the default) keeps every file in the database — ``stored_file`` plus
``stored_file_chunk`` rows of at most ``CHUNK_BYTES`` (``bytea`` on PostgreSQL, BLOB on
SQLite) — so every web process on every machine reads what any other stored, and a database
backup holds the files too. Writing and reading go chunk by chunk: a 20 MB upload never sits
in memory whole. ``LocalStore`` is the former layout (files under ``ZHITONGCHE_UPLOAD_DIR``):
``DatabaseStore`` still reads it for files not yet moved by ``zhitongche files-migrate``
(``migrate_local_files``). Another backend (an S3-compatible store) implements the same five
methods.

A store failing — the disk or the database full, the folder unwritable, the database gone —
raises ``StorageFull`` (HTTP 507) or ``StorageUnavailable`` (HTTP 503), never a bare error, so
the web layer answers clearly and keeps what the person typed. No web here.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import clock as clock_mod
from .models import Attachment, StoredFile, StoredFileChunk

CHUNK_BYTES = 512 * 1024
LOW_FREE_BYTES = 100 * 1024 * 1024  # SQLite: less free disk than this is reported as "low"


class StorageError(Exception):
    """The file store cannot take or give a file right now (HTTP 503)."""

    status = 503
    code = "storage_unavailable"

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


StorageUnavailable = StorageError


class StorageFull(StorageError):
    """No space left where files are kept (HTTP 507 Insufficient Storage)."""

    status = 507
    code = "storage_full"


class TooLarge(Exception):
    """The stream is longer than the limit the caller gave."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass
class StoredMeta:
    key: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for a content check


class FileStore(Protocol):
    name: str

    def put(self, session: Session, stream: BinaryIO, *, max_bytes: int, key: str | None = None) -> StoredMeta: ...

    def open(self, session: Session, key: str) -> Iterator[bytes] | None: ...

    def exists(self, session: Session, key: str) -> bool: ...

    def delete(self, session: Session, key: str) -> None: ...

    def state(self, session: Session) -> dict: ...


def translate(exc: BaseException) -> StorageError | None:
    """The storage error behind a database or OS error, or None when it is something else."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        first = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return StorageFull("no space left for files", first)
        return StorageUnavailable("the file store is not writable or not reachable", first)
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        first = str(orig).splitlines()[0][:200] if orig is not None else ""
        sqlstate = getattr(orig, "sqlstate", None) or ""
        if sqlstate.startswith("53"):  # PostgreSQL class 53: insufficient resources (53100 disk_full)
            return StorageFull("the database has no space left for files", first)
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            primary = code & 0xFF
            if primary == sqlite3.SQLITE_FULL:
                return StorageFull("the database has no space left for files", first)
            if primary in (
                sqlite3.SQLITE_READONLY,
                sqlite3.SQLITE_CANTOPEN,
                sqlite3.SQLITE_IOERR,
                sqlite3.SQLITE_BUSY,
                sqlite3.SQLITE_LOCKED,
            ):
                return StorageUnavailable("the database cannot store files right now", first)
        if isinstance(exc, OperationalError):  # connection lost, server shutting down, …
            return StorageUnavailable("the database cannot store files right now", first)
    return None


def _read_chunks(stream: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    """Pieces of at most CHUNK_BYTES; TooLarge once more than max_bytes were read."""
    size, buffer = 0, b""
    while True:
        piece = stream.read(64 * 1024)
        if not piece:
            break
        size += len(piece)
        if size > max_bytes:
            raise TooLarge(max_bytes)
        buffer += piece
        while len(buffer) >= CHUNK_BYTES:
            yield buffer[:CHUNK_BYTES]
            buffer = buffer[CHUNK_BYTES:]
    if buffer:
        yield buffer


class DatabaseStore:
    """Files as chunk rows in the database of ``session``; ``legacy`` is read for old files."""

    name = "database"

    def __init__(self, legacy: LocalStore | None = None) -> None:
        self.legacy = legacy

    def put(self, session: Session, stream: BinaryIO, *, max_bytes: int, key: str | None = None) -> StoredMeta:
        key = key or uuid.uuid4().hex
        digest, size, head, seq = hashlib.sha256(), 0, b"", 0
        try:
            row = StoredFile(key=key, size=0, sha256="", chunks=0, created_at=clock_mod.now())
            session.add(row)
            session.flush()
            for chunk in _read_chunks(stream, max_bytes):
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                size += len(chunk)
                # a Core insert: no ORM object keeps the chunk alive, one chunk in memory at a time
                session.execute(insert(StoredFileChunk).values(file_key=key, seq=seq, data=chunk))
                seq += 1
            row.size, row.sha256, row.chunks = size, digest.hexdigest(), seq
            session.flush()
        except DBAPIError as exc:
            raise (translate(exc) or exc) from exc
        return StoredMeta(key, size, digest.hexdigest(), head)

    def open(self, session: Session, key: str) -> Iterator[bytes] | None:
        row = session.get(StoredFile, key)
        if row is None:
            return self.legacy.open(session, key) if self.legacy is not None else None
        chunks = row.chunks

        def chunks_of() -> Iterator[bytes]:
            for seq in range(chunks):
                data = session.scalar(
                    select(StoredFileChunk.data).where(StoredFileChunk.file_key == key, StoredFileChunk.seq == seq)
                )
                if data is None:
                    raise StorageUnavailable("a stored file is incomplete", f"{key} chunk {seq}")
                yield bytes(data)

        return chunks_of()

    def exists(self, session: Session, key: str) -> bool:
        if session.get(StoredFile, key) is not None:
            return True
        return self.legacy is not None and self.legacy.exists(session, key)

    def delete(self, session: Session, key: str) -> None:
        session.execute(delete(StoredFileChunk).where(StoredFileChunk.file_key == key))
        session.execute(delete(StoredFile).where(StoredFile.key == key))
        session.flush()

    def state(self, session: Session) -> dict:
        """For /healthz: can files be read, how many still wait on a local disk, free space."""
        files = session.scalar(select(func.count()).select_from(StoredFile)) or 0
        pending = (
            session.scalar(
                select(func.count())
                .select_from(Attachment)
                .outerjoin(StoredFile, StoredFile.key == Attachment.storage_key)
                .where(StoredFile.key.is_(None))
            )
            or 0
        )
        report: dict = {"state": "ok", "backend": self.name, "files": files, "not_migrated": pending}
        url = session.get_bind().engine.url  # (the bind may be a Connection)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            free = shutil.disk_usage(Path(url.database).resolve().parent).free
            report["free_bytes"] = free
            if free < LOW_FREE_BYTES:
                report["state"] = "low"
        return report


class LocalStore:
    """Files under a folder of this machine (the layout before files lived in the database)."""

    name = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path | None:
        root = self.root.resolve()
        path = (root / key).resolve()
        return path if root in path.parents else None

    def put(self, session: Session, stream: BinaryIO, *, max_bytes: int, key: str | None = None) -> StoredMeta:
        key = key or f"{clock_mod.now():%Y%m}/{uuid.uuid4().hex}"
        target = self.path(key)
        if target is None:
            raise ValueError(f"bad storage key {key!r}")
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as out:
                for chunk in _read_chunks(stream, max_bytes):
                    head = head or chunk[:16]
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise (translate(exc) or exc) from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return StoredMeta(key, size, digest.hexdigest(), head)

    def open(self, session: Session, key: str) -> Iterator[bytes] | None:
        path = self.path(key)
        if path is None or not path.is_file():
            return None

        def chunks_of() -> Iterator[bytes]:
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        return chunks_of()

    def exists(self, session: Session, key: str) -> bool:
        path = self.path(key)
        return path is not None and path.is_file()

    def delete(self, session: Session, key: str) -> None:
        path = self.path(key)
        if path is not None:
            path.unlink(missing_ok=True)

    def state(self, session: Session) -> dict:
        ok = self.root.is_dir() and shutil.disk_usage(self.root).free >= LOW_FREE_BYTES
        return {"state": "ok" if ok else "low", "backend": self.name}


def default_store(upload_dir: str | Path | None = None) -> DatabaseStore:
    """The store the app and the worker use: the database, reading old local files meanwhile."""
    return DatabaseStore(LocalStore(upload_dir) if upload_dir else None)


@dataclass
class MigrationReport:
    moved: int = 0
    already: int = 0
    missing: list[str] | None = None
    mismatched: list[str] | None = None


def migrate_local_files(
    Session: sessionmaker[Session],
    upload_dir: str | Path,
    *,
    remove: bool = False,
    log: Callable[[str], object] = lambda line: None,
) -> MigrationReport:
    """Copy every attachment still on the local disk into the database, one transaction per
    file, keeping its storage key; a file whose SHA-256 differs from the recorded one is left
    alone and reported. ``remove`` deletes the local copy once its transaction committed.
    Running it again moves nothing twice."""
    local, store = LocalStore(upload_dir), DatabaseStore()
    missing: list[str] = []
    mismatched: list[str] = []
    report = MigrationReport(missing=missing, mismatched=mismatched)
    with Session() as session:
        rows = list(
            session.execute(select(Attachment.id, Attachment.storage_key, Attachment.sha256).order_by(Attachment.id))
        )
    for attachment_id, key, sha in rows:
        with Session() as session:
            if session.get(StoredFile, key) is not None:
                report.already += 1
                continue
            path = local.path(key)
            if path is None or not path.is_file():
                missing.append(key)
                log(f"missing  attachment {attachment_id}: {key} is on no disk and not in the database")
                continue
            with open(path, "rb") as handle:
                meta = store.put(session, handle, max_bytes=path.stat().st_size, key=key)
            if meta.sha256 != sha:
                session.rollback()
                mismatched.append(key)
                log(f"mismatch attachment {attachment_id}: {key} differs from its recorded SHA-256; left on disk")
                continue
            session.commit()
        report.moved += 1
        log(f"moved    attachment {attachment_id}: {key} ({meta.size} bytes)")
        if remove:
            path.unlink(missing_ok=True)
    return report


__all__ = [
    "CHUNK_BYTES",
    "StorageError",
    "StorageUnavailable",
    "StorageFull",
    "TooLarge",
    "StoredMeta",
    "FileStore",
    "translate",
    "DatabaseStore",
    "LocalStore",
    "default_store",
    "MigrationReport",
    "migrate_local_files",
]
