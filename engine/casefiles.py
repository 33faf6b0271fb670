"""What a case page shows besides its tasks: the case list, comments, attachments,
the timeline from the audit, and which diagram elements are done or current.

Files are stored under ``upload_dir`` with a random name (never the user's), outside the
web root; only their metadata is in the database. No web here.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import mimetypes
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from . import clock as clock_mod
from . import search as search_mod
from .access import Principal, visible_cases
from .errors import InvalidRequest, NotFound
from .models import Attachment, AuditEntry, CaseComment, CaseRecord, HumanTask, Instance

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ALLOWED_TYPES = {
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain", ".zip": "application/zip", ".ofd": "application/ofd",
}
# a file must start like its extension says (text has no signature)
_SIGNATURES = {
    ".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK",), ".xlsx": (b"PK",), ".zip": (b"PK",), ".ofd": (b"PK",),
    ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",),
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
    stats: object = None  # engine.stats.CaseFilter: the cases behind a dashboard figure


@dataclass
class CaseList:
    items: list[Instance]
    total: int
    query: CaseQuery = field(default_factory=CaseQuery)


def search_cases(session: Session, principal: Principal, query: CaseQuery,
                 now: _dt.datetime | None = None) -> CaseList:
    now = now or clock_mod.now()
    s = Instance.summary
    stmt = visible_cases(principal)
    if query.stats is not None:
        stmt = stmt.join(CaseRecord, CaseRecord.instance_id == Instance.id).where(*query.stats.clauses(now))
    found = search_mod.matches(CaseRecord.search_text, query.q)
    if found is not None:  # case number, enterprise, title, description, contact, results (engine/search.py)
        stmt = stmt.where(or_(Instance.id.in_(select(CaseRecord.instance_id).where(found)),
                              search_mod.matches(Instance.business_key, query.q)))
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
        stmt = stmt.where(Instance.status == "running", s["deadline"].as_string().is_not(None),
                          s["deadline"].as_string() < now.astimezone(_china()).isoformat())
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


def _china():
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
    comment = CaseComment(instance_id=instance.id, author=author, body=body, internal=internal,
                          created_at=clock_mod.now())
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


def store_upload(session: Session, upload_dir: str | Path, *, filename: str, stream: BinaryIO,
                 uploaded_by: str, instance_id: int | None = None, task_id: int | None = None,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> Attachment:
    name = Path((filename or "").replace("\\", "/")).name.strip()[:200]
    ext = Path(name).suffix.lower()
    if not name or ext not in ALLOWED_TYPES:
        raise UploadRejected(f"file type not allowed: {ext or name}", code="type", filename=name,
                             allowed=sorted(ALLOWED_TYPES))
    key = uuid.uuid4().hex
    day = clock_mod.now().strftime("%Y%m")
    target_dir = Path(upload_dir) / day
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / key
    digest, size = hashlib.sha256(), 0
    head = b""
    try:
        with open(target, "xb") as out:
            while True:
                chunk = stream.read(64 * 1024)
                if not chunk:
                    break
                if len(head) < 8:
                    head += chunk[:8]
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(f"file larger than {max_bytes // (1024 * 1024)} MB", code="size",
                                         filename=name, limit=max_bytes)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRejected("the file is empty", code="empty", filename=name)
        signatures = _SIGNATURES.get(ext)
        if signatures and not head.startswith(signatures):
            raise UploadRejected(f"the file is not a {ext} file", code="content", filename=name)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    attachment = Attachment(instance_id=instance_id, task_id=task_id, filename=name,
                            content_type=ALLOWED_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream",
                            size=size, sha256=digest.hexdigest(), storage_key=f"{day}/{key}",
                            uploaded_by=uploaded_by, created_at=clock_mod.now())
    session.add(attachment)
    session.flush()
    return attachment


def attachment_path(upload_dir: str | Path, attachment: Attachment) -> Path:
    root = Path(upload_dir).resolve()
    path = (root / attachment.storage_key).resolve()
    if root not in path.parents:
        raise NotFound("file not found")
    return path


def attachments(session: Session, instance_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.id)))


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


def timeline(session: Session, instance_id: int, include_internal: bool = True) -> list[TimelineItem]:
    items = [TimelineItem(e.at, e.actor, e.action, e.task_name, e.data if isinstance(e.data, dict) else None)
             for e in session.scalars(select(AuditEntry).where(AuditEntry.instance_id == instance_id)
                                      .order_by(AuditEntry.id))]
    items += [TimelineItem(c.created_at, c.author, "comment", comment=c)
              for c in comments(session, instance_id, include_internal)]
    return sorted(items, key=lambda i: i.at)


@dataclass
class DiagramState:
    xml: str
    completed: list[str]
    current: list[str]


def diagram_state(engine, session: Session, instance: Instance) -> DiagramState:
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
        completed = {e.task_bpmn_id for e in session.scalars(select(AuditEntry).where(
            AuditEntry.instance_id == instance.id, AuditEntry.action == "complete")) if e.task_bpmn_id}
        current = {t.bpmn_id for t in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready"))}
    return DiagramState(xml, sorted(completed - current), sorted(current))


__all__ = ["CaseQuery", "CaseList", "search_cases", "is_overdue", "find_case", "add_comment", "comments",
           "UploadRejected", "store_upload", "attachment_path", "attachments", "link_attachments",
           "TimelineItem", "timeline", "DiagramState", "diagram_state", "MAX_UPLOAD_BYTES", "ALLOWED_TYPES"]
