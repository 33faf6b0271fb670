"""What a case page shows besides its tasks: the case list, comments, attachments,
the timeline from the audit, and which diagram elements are done or current.

Files are kept by an engine.storage store (the database by default) under a random key (never
the user's name); the ``attachment`` row holds their metadata. No web here.
"""

from __future__ import annotations

import datetime as _dt
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from . import search as search_mod
from . import storage
from .access import Principal, visible_cases
from .errors import InvalidRequest, NotFound
from .models import Attachment, AuditEntry, CaseComment, CaseRecord, HumanTask, Instance

if TYPE_CHECKING:
    from .runtime import Engine
    from .stats import CaseFilter

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".zip": "application/zip",
    ".ofd": "application/ofd",
}
# a file must start like its extension says (text has no signature)
_SIGNATURES = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK",),
    ".xlsx": (b"PK",),
    ".zip": (b"PK",),
    ".ofd": (b"PK",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
    ".xls": (b"\xd0\xcf\x11\xe0",),
}


# -- case list -----------------------------------------------------------------------------
@dataclass
class CaseQuery:
    q: str | None = None  # words of the search text: number, enterprise, title, description, …
    category: str | None = None
    county: str | None = None
    status: str | None = None
    overdue: bool = False
    sort: str = "updated"  # updated | deadline | created
    page: int = 1
    per_page: int = 50
    stats: CaseFilter | None = None  # the cases behind a dashboard figure


@dataclass
class CaseList:
    items: list[Instance]
    total: int
    query: CaseQuery = field(default_factory=CaseQuery)


def search_cases(session: Session, principal: Principal, query: CaseQuery, now: _dt.datetime | None = None) -> CaseList:
    now = now or clock_mod.now()
    s = Instance.summary
    stmt = visible_cases(principal)
    if query.stats is not None:
        stmt = stmt.join(CaseRecord, CaseRecord.instance_id == Instance.id).where(*query.stats.clauses(now))
    found = search_mod.matches(CaseRecord.search_text, query.q)
    in_key = search_mod.matches(Instance.business_key, query.q)
    if found is not None and in_key is not None:  # case number, enterprise, title, description, contact, results
        stmt = stmt.where(or_(Instance.id.in_(select(CaseRecord.instance_id).where(found)), in_key))  # engine/search
    if query.category:
        stmt = stmt.where(s["category"].as_string() == query.category)
    if query.county:
        stmt = stmt.where(s["county"].as_string() == query.county)
    if query.status:
        if query.status in ("running", "completed", "error"):
            stmt = stmt.where(Instance.status == query.status)
        else:
            stmt = stmt.where(s["status"].as_string() == query.status)
    if query.overdue:
        # ISO deadlines in one offset compare as text; open cases only
        stmt = stmt.where(
            Instance.status == "running",
            s["deadline"].as_string().is_not(None),
            s["deadline"].as_string() < now.astimezone(_china()).isoformat(),
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if query.sort == "deadline":
        order = [s["deadline"].as_string().is_(None), s["deadline"].as_string(), Instance.id]
    elif query.sort == "created":
        order = [Instance.created_at.desc(), Instance.id.desc()]
    else:
        order = [Instance.updated_at.desc(), Instance.id.desc()]
    page = max(1, query.page)
    items = list(session.scalars(stmt.order_by(*order).offset((page - 1) * query.per_page).limit(query.per_page)))
    return CaseList(items, total, query)


def _china() -> _dt.tzinfo:
    from .workdays import CHINA

    return CHINA


def is_overdue(instance: Instance, now: _dt.datetime | None = None) -> bool:
    deadline = (instance.summary or {}).get("deadline")
    if instance.status != "running" or not deadline:
        return False
    try:
        when = _dt.datetime.fromisoformat(str(deadline))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=_china())
    return when < (now or clock_mod.now())


def find_case(session: Session, key: str | int) -> Instance:
    """A case by instance id or case number."""
    instance = None
    if isinstance(key, int) or str(key).isdigit():
        instance = session.get(Instance, int(key))
    if instance is None:
        instance = session.scalars(select(Instance).where(Instance.business_key == str(key))).first()
    if instance is None:
        raise NotFound(f"case {key} does not exist")
    return instance


# -- comments ------------------------------------------------------------------------------
def add_comment(session: Session, instance: Instance, author: str, body: str, internal: bool = False) -> CaseComment:
    body = (body or "").strip()
    if not body:
        raise InvalidRequest("a comment cannot be empty", field="body")
    if len(body) > 5000:
        raise InvalidRequest("a comment has at most 5000 characters", field="body")
    comment = CaseComment(
        instance_id=instance.id, author=author, body=body, internal=internal, created_at=clock_mod.now()
    )
    session.add(comment)
    session.flush()
    return comment


def comments(session: Session, instance_id: int, include_internal: bool = True) -> list[CaseComment]:
    stmt = select(CaseComment).where(CaseComment.instance_id == instance_id)
    if not include_internal:
        stmt = stmt.where(CaseComment.internal.is_(False))
    return list(session.scalars(stmt.order_by(CaseComment.id)))


# -- attachments ---------------------------------------------------------------------------
class UploadRejected(InvalidRequest):
    """A file that is too large, of a type not allowed, or not what its name says."""


def _store_of(store: storage.FileStore | str | Path) -> storage.FileStore:
    return storage.default_store(store) if isinstance(store, (str, Path)) else store


def store_upload(
    session: Session,
    store: storage.FileStore | str | Path,
    *,
    filename: str,
    stream: BinaryIO,
    uploaded_by: str,
    instance_id: int | None = None,
    task_id: int | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Attachment:
    """Check and store one uploaded file, in a savepoint: a rejected or failed file leaves
    nothing behind and the rest of the transaction intact. ``store``: an engine.storage store
    (a folder means the default store, reading old files from that folder).
    Raises UploadRejected (the person's fault) or storage.StorageError (the store's)."""
    store = _store_of(store)
    name = Path((filename or "").replace("\\", "/")).name.strip()[:200]
    ext = Path(name).suffix.lower()
    if not name or ext not in ALLOWED_TYPES:
        raise UploadRejected(
            f"file type not allowed: {ext or name}", code="type", filename=name, allowed=sorted(ALLOWED_TYPES)
        )
    savepoint = session.begin_nested()
    try:
        try:
            meta = store.put(session, stream, max_bytes=max_bytes)
        except storage.TooLarge:
            raise UploadRejected(
                f"file larger than {max_bytes // (1024 * 1024)} MB", code="size", filename=name, limit=max_bytes
            ) from None
        if meta.size == 0:
            raise UploadRejected("the file is empty", code="empty", filename=name)
        signatures = _SIGNATURES.get(ext)
        if signatures and not meta.head.startswith(signatures):
            raise UploadRejected(f"the file is not a {ext} file", code="content", filename=name)
        attachment = Attachment(
            instance_id=instance_id,
            task_id=task_id,
            filename=name,
            content_type=ALLOWED_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream",
            size=meta.size,
            sha256=meta.sha256,
            storage_key=meta.key,
            uploaded_by=uploaded_by,
            created_at=clock_mod.now(),
        )
        session.add(attachment)
        session.flush()
        savepoint.commit()
    except BaseException as exc:
        if savepoint.is_active:
            try:
                savepoint.rollback()
            except Exception:  # noqa: BLE001 - e.g. SQLite already rolled the whole transaction back
                pass
        if isinstance(exc, UploadRejected):
            raise
        failure = storage.translate(exc)
        if failure is not None and failure is not exc:
            raise failure from exc
        raise
    return attachment


def open_attachment(session: Session, store: storage.FileStore | str | Path, attachment: Attachment) -> Iterator[bytes]:
    """The bytes of an attachment, chunk by chunk; NotFound when no store has them."""
    chunks = _store_of(store).open(session, attachment.storage_key)
    if chunks is None:
        raise NotFound("file not found")
    return chunks


def attachment_path(upload_dir: str | Path, attachment: Attachment) -> Path:
    """Where an attachment lived before files moved into the database (files-migrate reads it)."""
    root = Path(upload_dir).resolve()
    path = (root / attachment.storage_key).resolve()
    if root not in path.parents:
        raise NotFound("file not found")
    return path


def attachments(session: Session, instance_id: int) -> list[Attachment]:
    return list(
        session.scalars(select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id))
    )


def link_attachments(session: Session, ids: list[int], instance_id: int, uploaded_by: str) -> None:
    """Attach files uploaded before their case existed (the enterprise's submission)."""
    for attachment in session.scalars(select(Attachment).where(Attachment.id.in_(ids))):
        if attachment.instance_id is None and attachment.uploaded_by == uploaded_by:
            attachment.instance_id = instance_id
    session.flush()


# -- timeline and diagram ------------------------------------------------------------------
@dataclass
class TimelineItem:
    at: _dt.datetime
    actor: str
    action: str
    task_name: str | None = None
    data: dict | None = None
    comment: CaseComment | None = None
    entry_id: int | None = None


def timeline(
    session: Session, instance_id: int, include_internal: bool = True, latest: int | None = None
) -> list[TimelineItem]:
    """The case's history and comments in time order; only the ``latest`` ones when given
    (a case reopened many times has a long history: its page shows the newest first)."""
    stmt = select(AuditEntry).where(AuditEntry.instance_id == instance_id)
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(latest) if latest is not None else stmt.order_by(AuditEntry.id)
    items = [
        TimelineItem(e.at, e.actor, e.action, e.task_name, e.data if isinstance(e.data, dict) else None, entry_id=e.id)
        for e in session.scalars(stmt)
    ]
    items += [
        TimelineItem(c.created_at, c.author, "comment", comment=c)
        for c in comments(session, instance_id, include_internal)
    ]
    items.sort(key=lambda i: i.at)
    return items if latest is None else items[-latest:]


def timeline_size(session: Session, instance_id: int, include_internal: bool = True) -> int:
    """How many entries ``timeline`` has in all."""
    audit = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.instance_id == instance_id))
    return (audit or 0) + len(comments(session, instance_id, include_internal))


@dataclass
class DiagramState:
    xml: str
    completed: list[str]
    current: list[str]
    counts: dict[str, int] = field(default_factory=dict)  # activities done more than once: how often


def _path_taken(session: Session, instance: Instance, xml: str) -> dict[str, int]:
    """How often each activity of the diagram was completed, from the audit (the stored state
    prunes finished tasks): user tasks by their id, a called process's tasks on its call activity."""
    import re

    calls: dict[str, str] = {}
    for tag in re.findall(r"<(?:bpmn:)?callActivity\b[^>]*>", xml):
        ident, called = re.search(r'\bid="([^"]+)"', tag), re.search(r'\bcalledElement="([^"]+)"', tag)
        if ident and called:
            calls[called.group(1)] = ident.group(1)
    process_of = {
        t.bpmn_id: t.process_id for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
    }
    counts: dict[str, int] = {}
    seen_calls: set[tuple[str, str]] = set()
    for entry in session.scalars(
        select(AuditEntry)
        .where(AuditEntry.instance_id == instance.id, AuditEntry.action == "complete")
        .order_by(AuditEntry.id)
    ):
        if not entry.task_bpmn_id:
            continue
        counts[entry.task_bpmn_id] = counts.get(entry.task_bpmn_id, 0) + 1
        call = calls.get(process_of.get(entry.task_bpmn_id, ""))
        if call and (call, entry.task_bpmn_id) not in seen_calls:
            seen_calls.add((call, entry.task_bpmn_id))
            counts.setdefault(call, 1)
    return counts


def diagram_state(engine: Engine, session: Session, instance: Instance) -> DiagramState:
    """The BPMN of the case's process version and its finished and current elements."""
    version = instance.process_version
    xml = version.files.get(version.main_file, "")
    completed: set[str] = set()
    current: set[str] = set()
    try:
        workflow, _ = engine.load(instance)
        for task in workflow.get_tasks():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.has_state(TaskState.COMPLETED):
                completed.add(bpmn_id)
            elif task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR):
                current.add(bpmn_id)
    except Exception:  # noqa: BLE001 - a diagram is never worth an error page
        completed = {
            e.task_bpmn_id
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.instance_id == instance.id, AuditEntry.action == "complete")
            )
            if e.task_bpmn_id
        }
        current = {
            t.bpmn_id
            for t in session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
            )
        }
    counts = _path_taken(session, instance, xml)
    completed |= set(counts)
    return DiagramState(
        xml, sorted(completed - current), sorted(current), {k: n for k, n in sorted(counts.items()) if n > 1}
    )


__all__ = [
    "CaseQuery",
    "CaseList",
    "search_cases",
    "is_overdue",
    "find_case",
    "add_comment",
    "comments",
    "UploadRejected",
    "store_upload",
    "open_attachment",
    "attachment_path",
    "attachments",
    "link_attachments",
    "TimelineItem",
    "timeline",
    "DiagramState",
    "diagram_state",
    "MAX_UPLOAD_BYTES",
    "ALLOWED_TYPES",
]
