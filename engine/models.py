"""Database tables (SQLAlchemy 2 typed models). Schema changes go through Alembic."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from . import clock

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        value = value.astimezone(_dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc)


def _now() -> _dt.datetime:
    return clock.now()


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, _dt.datetime: UtcDateTime}


class Deployment(Base):
    """One `deploy`: who, when, and what changed."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployed_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    deployed_by: Mapped[str] = mapped_column(String(100), default="system")
    source: Mapped[str] = mapped_column(String(200), default="")
    # where the files came from: "files" (processes/ and forms/, CLI or `run`), "web" or "api"
    origin: Mapped[str] = mapped_column(String(20), default="files", server_default="files")
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProcessVersion(Base):
    """An immutable, self-contained version of one executable process.

    ``files`` holds every file the version needs (its BPMN, the BPMN of the processes it
    calls, DMN tables and forms), so a running instance keeps its forms and rules when a
    newer version is deployed.
    """

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    flavor: Mapped[str] = mapped_column(String(20), default="spiff")
    content_hash: Mapped[str] = mapped_column(String(64))
    main_file: Mapped[str] = mapped_column(String(300))
    files: Mapped[dict[str, Any]] = mapped_column()
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    # the version a web or API deploy was based on (None: deployed from files, or not said)
    base_version: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)

    deployment: Mapped[Deployment] = relationship()


class Instance(Base):
    """A running or finished process instance; the workflow state is SpiffWorkflow's JSON
    without the spec (the spec is the referenced ProcessVersion)."""

    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[Optional[_dt.datetime]] = mapped_column(index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[Optional[dict[str, Any]]] = mapped_column()
    started_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    ended_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    called_versions: Mapped[Optional[dict[str, Any]]] = mapped_column()  # engine/binding.py (issue 15)

    process_version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user or manual task as people see it: queryable without loading any workflow."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid"),
        Index("ix_human_task_state_due", "state", "due_at"),
        # the inbox: ready tasks only, in due order, without visiting the heap (PostgreSQL)
        Index("ix_human_task_ready", "due_at", "id",
              postgresql_include=["assignee", "delegated_from", "instance_id"],
              postgresql_where=text("state = 'ready'")),
        # a person's own ready tasks (engine.access.task_ids), however long their history
        Index("ix_human_task_ready_assignee", "assignee",
              postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
        Index("ix_human_task_ready_delegated_from", "delegated_from",
              postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    process_id: Mapped[str] = mapped_column(String(200))
    lane: Mapped[Optional[str]] = mapped_column(String(200))
    candidate_groups: Mapped[list[Any]] = mapped_column(default=list)
    form: Mapped[Optional[str]] = mapped_column(String(200))
    ui_form: Mapped[Optional[str]] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="ready", index=True)
    assignee: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    due_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    # the due date was computed over a year without an official calendar (an estimate: 临时时限)
    due_provisional: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    draft: Mapped[Optional[dict[str, Any]]] = mapped_column()
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    completed_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    completed_by: Mapped[Optional[str]] = mapped_column(String(100))
    # who handed the task to the current assignee (delegation); they may take it back
    delegated_from: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    # 催办: the last time someone urged the task's holder (engine/office_verbs.py), and who
    urged_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    urged_by: Mapped[Optional[str]] = mapped_column(String(100))

    instance: Mapped[Instance] = relationship()
    groups: Mapped[list["HumanTaskGroup"]] = relationship(cascade="all, delete-orphan")


class HumanTaskGroup(Base):
    """One row per candidate group of a ready task, for indexed inbox queries."""

    __tablename__ = "human_task_group"
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(200), primary_key=True)
    __table_args__ = (Index("ix_human_task_group_group", "group", "task_id"),)


class AuditEntry(Base):
    """Append-only history: who did what, when, on which task, with which data."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[_dt.datetime] = mapped_column(default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    task_bpmn_id: Mapped[Optional[str]] = mapped_column(String(200))
    task_name: Mapped[Optional[str]] = mapped_column(String(300))
    data: Mapped[Optional[dict[str, Any]]] = mapped_column()


class User(Base):
    """A person: an official (groups give their roles, units and county), an enterprise, an admin."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="official")  # official | enterprise | admin
    groups: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["wg:city"], ["unit:zrzyj", "head:zrzyj"]
    county: Mapped[Optional[str]] = mapped_column(String(50))
    uscc: Mapped[Optional[str]] = mapped_column(String(18), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    email: Mapped[Optional[str]] = mapped_column(String(200))  # for e-mail notifications
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class ApiToken(Base):
    """A per-user API token; only its hash is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    last_used_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    revoked_at: Mapped[Optional[_dt.datetime]] = mapped_column()

    user: Mapped[User] = relationship()


class UserSession(Base):
    """A log-in on the web pages: the cookie carries a random secret whose SHA-256 is ``id``.

    Logout, deactivation and password change set ``ended_at``; an idle or too old session
    is ended when it is next seen (engine/sessions.py)."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    ended_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    end_reason: Mapped[Optional[str]] = mapped_column(String(20))


class CaseComment(Base):
    """A remark on a case by an official or the enterprise (shown in its timeline)."""

    __tablename__ = "case_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)  # officials only, hidden from the enterprise
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class Attachment(Base):
    """An uploaded file of a case; its bytes are the ``stored_file`` named by ``storage_key``
    (engine/storage.py; before ``zhitongche files-migrate``, a file under Settings.upload_dir)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class StoredFile(Base):
    """The bytes of a file kept in the database (engine/storage.py), in ``stored_file_chunk`` rows,
    so that every web process reads what any other one stored and a database backup holds them."""

    __tablename__ = "stored_file"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class StoredFileChunk(Base):
    """One piece (at most engine.storage.CHUNK_BYTES) of a stored file: ``bytea`` / BLOB."""

    __tablename__ = "stored_file_chunk"
    file_key: Mapped[str] = mapped_column(ForeignKey("stored_file.key", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class WorkerHeartbeat(Base):
    """One row per running worker process, refreshed every loop (for /healthz)."""

    __tablename__ = "worker_heartbeat"
    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    poll_seconds: Mapped[float] = mapped_column(default=2.0)
    started_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    last_seen: Mapped[_dt.datetime] = mapped_column(default=_now, index=True)
    fired: Mapped[int] = mapped_column(Integer, default=0)  # timers fired since start
    sent: Mapped[int] = mapped_column(Integer, default=0)  # notifications sent since start


class Notification(Base):
    """The outbox: one message to one recipient over one channel, sent by a worker.

    ``status``: pending → sending (claimed by a worker) → sent, or back to pending with
    ``next_attempt_at`` pushed out (backoff) while the channel is down; ``failed`` when the
    channel refused it for good (``last_error`` says why), ``skipped`` when the recipient
    has no address on that channel, ``cancelled`` when its case was terminated.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # assignment | warning | escalation | notice
    level: Mapped[Optional[str]] = mapped_column(String(20))  # yellow | red | None
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(100), index=True)  # a username
    channel: Mapped[str] = mapped_column(String(20))  # log | email | webhook
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    sent_at: Mapped[Optional[_dt.datetime]] = mapped_column()

    task: Mapped[Optional[HumanTask]] = relationship()


class UserNotice(Base):
    """The in-app notification centre: one notice to one user (channel ``inapp``), written in
    the transaction of the change that causes it; ``read_at`` is set when the user reads it.
    Read notices older than the retention age are pruned by the worker (engine/notify.py)."""

    __tablename__ = "user_notice"
    __table_args__ = (Index("ix_user_notice_unread", "username", "read_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[Optional[str]] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now, index=True)
    read_at: Mapped[Optional[_dt.datetime]] = mapped_column()

    task: Mapped[Optional[HumanTask]] = relationship()


class CaseCounter(Base):
    """The last case number handed out per year (直通车 case numbers: ZTC-<year>-<seq>).

    Incremented with a row lock (PostgreSQL) or under SQLite's write lock, so two
    concurrent submissions never get the same number.
    """

    __tablename__ = "case_counter"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SubmissionKey(Base):
    """The idempotency key of one case submission (the portal form's hidden key, the API's
    ``Idempotency-Key`` header), per submitter: a repeat (double click, retry) is answered
    with the case the first one created (``engine.cases.start_once``)."""

    __tablename__ = "submission_key"
    __table_args__ = (UniqueConstraint("actor", "key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[Optional[str]] = mapped_column(String(64))  # SHA-256 of the submitted data (API)
    instance_id: Mapped[Optional[int]] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class WorkCalendarData(Base):
    """The administrators' working-day calendar (one row, id 1): per year the holidays and
    the adjusted working weekends (调休), ``{"2027": {"holidays": [...], "workdays": [...]}}``.
    Every process compares ``revision`` with the one it loaded (engine.workdays) and reloads
    when it changed, so an edit takes effect everywhere without a restart."""

    __tablename__ = "work_calendar"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    years: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")

    __mapper_args__ = {"version_id_col": revision}


class LoginAttempt(Base):
    """One log-in attempt on the web form, for throttling across all web processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_user_ip_at", "username", "ip", "at"),
                      Index("ix_login_attempt_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[_dt.datetime] = mapped_column(default=_now)
    username: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)


# -- statistics (issue 8): typed projections of the case summary, bulletins, work records -------
class CaseRecord(Base):
    """One row per case: the typed projection of ``Instance.summary`` the dashboard, the
    unit assessment and the case list filters query (``engine.stats.project``).

    Written by the engine's save path in the same transaction as the instance; never by hand.
    Timestamps are UTC; ``received_day`` / ``closed_day`` are the Beijing calendar dates.
    """

    __tablename__ = "case_record"
    __table_args__ = (
        Index("ix_case_record_received", "received_at"),
        Index("ix_case_record_county_received", "county", "received_at"),
        Index("ix_case_record_closed", "closed_at"),
        Index("ix_case_record_county_closed", "county", "closed_at"),
        Index("ix_case_record_open_deadline", "is_open", "deadline"),
        Index("ix_case_record_lead_closed", "lead_unit", "closed_at"),
        Index("ix_case_record_uscc", "uscc"),
        # substring search (engine/search.py): trigrams on PostgreSQL; SQLite scans (see there),
        # its index is kept empty (WHERE 0) so that both databases have the same schema
        Index("ix_case_record_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}, sqlite_where=text("0")),
    )
    instance_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    case_no: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    county: Mapped[Optional[str]] = mapped_column(String(50))
    level: Mapped[Optional[str]] = mapped_column(String(20))
    category: Mapped[Optional[str]] = mapped_column(String(50))
    urgency: Mapped[Optional[str]] = mapped_column(String(20))
    source: Mapped[Optional[str]] = mapped_column(String(30))
    mode: Mapped[Optional[str]] = mapped_column(String(20))
    lead_unit: Mapped[Optional[str]] = mapped_column(String(100))
    coop_units: Mapped[list[Any]] = mapped_column(default=list)
    uscc: Mapped[Optional[str]] = mapped_column(String(18))
    enterprise_name: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[Optional[str]] = mapped_column(String(50))  # the summary's Chinese label
    is_open: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[Optional[str]] = mapped_column(String(20))  # solved/rejected/withdrawn/explained/no_answer
    received_at: Mapped[_dt.datetime] = mapped_column()
    accepted_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    closed_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    deadline: Mapped[Optional[_dt.datetime]] = mapped_column()
    warning: Mapped[Optional[str]] = mapped_column(String(10))  # yellow | red | None (now)
    ever_overdue: Mapped[bool] = mapped_column(default=False)  # turned red at least once
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(default=False)
    leader_mode: Mapped[Optional[str]] = mapped_column(String(20))  # 签批督办/专题会议/现场办公
    satisfaction: Mapped[Optional[str]] = mapped_column(String(20))
    on_time: Mapped[Optional[bool]] = mapped_column()  # closed after handling, never overdue
    workdays_to_close: Mapped[Optional[int]] = mapped_column(Integer)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    # what the search box finds (case number, enterprise, title, description, contact, results)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


class SavedFilter(Base):
    """A named inbox or case-list filter (the query string), a person's own or shared with a group."""

    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    shared_group: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    page: Mapped[str] = mapped_column(String(20))  # inbox | cases
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class CaseCopy(Base):
    """抄送: a case copied to a person or a group for reading (engine/office_verbs.py)."""

    __tablename__ = "case_copy"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                             ForeignKey("instance.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[Optional[str]] = mapped_column(String(100), index=True)  # a username, or
    group: Mapped[Optional[str]] = mapped_column(String(200), index=True)  # a group
    copied_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class Phrase(Base):
    """常用意见: a person's saved phrase, inserted into opinion fields."""

    __tablename__ = "phrase"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class CaseUnit(Base):
    """One row per unit ever assigned to a case (lead or cooperating): 协调部门 counts these."""

    __tablename__ = "case_unit"
    __table_args__ = (Index("ix_case_unit_unit_assigned", "unit", "assigned_at"),
                      Index("ix_case_unit_assigned", "assigned_at"))
    instance_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # lead | coop (lead once led)
    county: Mapped[Optional[str]] = mapped_column(String(50))
    assigned_at: Mapped[_dt.datetime] = mapped_column()


class BulletinSeries(Base):
    """A numbered series of 专报 (书记市长直通车专报, 重点项目建设情况专报, …) and its last number.

    Numbers are taken with a row lock (PostgreSQL) or under SQLite's write lock."""

    __tablename__ = "bulletin_series"
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    last_no: Mapped[int] = mapped_column(Integer, default=0)


class Bulletin(Base):
    """One issue (第N期) of a series, composed by a working group and signed off by a leader
    in the ``ztc_bulletin`` process."""

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("series", "number"), Index("ix_bulletin_status_issued", "status", "issued_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(ForeignKey("bulletin_series.code"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    county: Mapped[str] = mapped_column(String(50), default="city")  # whose working group issues it
    period_from: Mapped[Optional[_dt.date]] = mapped_column()
    period_to: Mapped[Optional[_dt.date]] = mapped_column()
    case_ids: Mapped[list[Any]] = mapped_column(default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the period's figures, frozen at compose time
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | signing | issued
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    composed_by: Mapped[str] = mapped_column(String(100))
    signed_by: Mapped[Optional[str]] = mapped_column(String(100))
    leader_comment: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    issued_at: Mapped[Optional[_dt.datetime]] = mapped_column()


class WorkRecord(Base):
    """A record of the working group's own work: 重点产业园档案 (``park_file``) and
    调研 (``research_visit``)."""

    __tablename__ = "work_record"
    __table_args__ = (Index("ix_work_record_kind_at", "kind", "occurred_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    county: Mapped[str] = mapped_column(String(50), default="city")
    occurred_on: Mapped[_dt.date] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[_dt.datetime] = mapped_column(default=_now)


# -- statistics rollups (engine/stats/projection.py keeps them, in the same transaction as case_record) --
# Each counter table holds one row per key at two grains: ``grain`` 'd' (``day`` is the
# Beijing date) and 'm' (``day`` is the first of the month), so a period is read as its whole
# months plus the days at either end. Key columns hold '' for "none" (NULLs are never equal
# in a primary key).
class StatsReceived(Base):
    """Cases by received day, county and lead unit (dashboard totals, by county/unit; 考核)."""

    __tablename__ = "stats_received"
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    lead_unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    still_open: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)  # turned red at least once
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    lm_sign: Mapped[int] = mapped_column(Integer, default=0)  # 签批督办
    lm_meeting: Mapped[int] = mapped_column(Integer, default=0)  # 专题会议
    lm_site: Mapped[int] = mapped_column(Integer, default=0)  # 现场办公


class StatsReceivedDim(Base):
    """Cases by received day, county and one more dimension (``dim`` category | mode)."""

    __tablename__ = "stats_received_dim"
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    dim: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)


class StatsClosed(Base):
    """Cases by closed day, county and lead unit (solved, on-time, satisfaction, reopen …)."""

    __tablename__ = "stats_closed"
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    lead_unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    sat_good: Mapped[int] = mapped_column(Integer, default=0)
    sat_answered: Mapped[int] = mapped_column(Integer, default=0)
    wd_sum: Mapped[int] = mapped_column(BigInteger, default=0)  # working days to close, solved cases


class StatsUnit(Base):
    """Unit assignments (case_unit rows) by assigned day, county and unit: 协调部门."""

    __tablename__ = "stats_unit"
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    assigned: Mapped[int] = mapped_column(Integer, default=0)


class StatsEnterprise(Base):
    """Cases per enterprise and county ('*': all counties); its row is locked while the
    enterprise's days change, so concurrent cases of one enterprise update them in turn."""

    __tablename__ = "stats_enterprise"
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, default=0)


class StatsEnterpriseDay(Base):
    """The received days of an enterprise's cases (per county, and '*' for all counties)."""

    __tablename__ = "stats_enterprise_day"
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, default=0)


class StatsEnterpriseGap(Base):
    """Enterprise-days counted by (day, previous day of the same enterprise and county):
    the enterprises contacted in [a, b] are the rows with ``day`` in [a, b] and
    ``prev_day`` < a (0001-01-01 when it is the enterprise's first day)."""

    __tablename__ = "stats_enterprise_gap"
    __table_args__ = (Index("ix_stats_enterprise_gap_prev", "county", "prev_day", "day"),)
    county: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[_dt.date] = mapped_column(primary_key=True)
    prev_day: Mapped[_dt.date] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class TimerStart(Base):
    """The schedule of one process whose latest version has a timer start event (issue 15):
    when the worker starts its next instance. Rows with ``kind = "none"`` mark a version that
    was looked at and has no timer start (so it is not parsed again)."""

    __tablename__ = "timer_start"
    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    kind: Mapped[str] = mapped_column(String(20))  # date / duration / cycle / none
    value: Mapped[str] = mapped_column(Text, default="")  # the evaluated timer expression
    next_fire_at: Mapped[Optional[_dt.datetime]] = mapped_column(index=True)
    cycles_left: Mapped[int] = mapped_column(Integer, default=0)  # -1: unbounded
    period_seconds: Mapped[float] = mapped_column(default=0.0)
    last_fired_at: Mapped[Optional[_dt.datetime]] = mapped_column()
    updated_at: Mapped[_dt.datetime] = mapped_column(default=_now)


class TimerStartFire(Base):
    """One instance started by a timer start event: at most one per (process, fire time)."""

    __tablename__ = "timer_start_fire"
    __table_args__ = (UniqueConstraint("process_id", "fire_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    fire_at: Mapped[_dt.datetime] = mapped_column()
    instance_id: Mapped[Optional[int]] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id"), index=True)
    started_at: Mapped[_dt.datetime] = mapped_column(default=_now)
    missed: Mapped[int] = mapped_column(Integer, default=0)  # earlier fire times skipped (downtime)
