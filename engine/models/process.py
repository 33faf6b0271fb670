"""The engine's tables: deployed versions, instances, human tasks, the audit trail, timers,
case numbers, idempotent submissions, the working-day calendar and worker heartbeats."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, default_now

if TYPE_CHECKING:
    from .case import CaseRecord


class Deployment(Base):
    """One `deploy`: who, when, and what changed."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployed_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
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
    base_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)

    deployment: Mapped[Deployment] = relationship()


class Instance(Base):
    """A running or finished process instance; the workflow state is SpiffWorkflow's JSON
    without the spec (the spec is the referenced ProcessVersion)."""

    __tablename__ = "instance"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[_dt.datetime | None] = mapped_column(index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column()
    started_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    ended_at: Mapped[_dt.datetime | None] = mapped_column()
    called_versions: Mapped[dict[str, Any] | None] = mapped_column()  # engine/binding.py (issue 15)

    process_version: Mapped[ProcessVersion] = relationship()
    # the case's statistics projection (engine/stats), read-only here: loaded with a task to
    # complete (access.visible_task) so the step's projection reads no row of its own (issue 18)
    case_record: Mapped[CaseRecord | None] = relationship(viewonly=True, uselist=False)

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user or manual task as people see it: queryable without loading any workflow."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid"),
        Index("ix_human_task_state_due", "state", "due_at"),
        # the inbox: ready tasks only, in due order, without visiting the heap (PostgreSQL)
        Index(
            "ix_human_task_ready",
            "due_at",
            "id",
            postgresql_include=["assignee", "delegated_from", "instance_id"],
            postgresql_where=text("state = 'ready'"),
        ),
        # a person's own ready tasks (engine.access.task_ids), however long their history
        Index(
            "ix_human_task_ready_assignee",
            "assignee",
            postgresql_where=text("state = 'ready'"),
            sqlite_where=text("state = 'ready'"),
        ),
        Index(
            "ix_human_task_ready_delegated_from",
            "delegated_from",
            postgresql_where=text("state = 'ready'"),
            sqlite_where=text("state = 'ready'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    process_id: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[list[Any]] = mapped_column(default=list)
    form: Mapped[str | None] = mapped_column(String(200))
    ui_form: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="ready", index=True)
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    due_at: Mapped[_dt.datetime | None] = mapped_column()
    # the due date was computed over a year without an official calendar (an estimate: 临时时限)
    due_provisional: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    draft: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    completed_at: Mapped[_dt.datetime | None] = mapped_column()
    completed_by: Mapped[str | None] = mapped_column(String(100))
    # who handed the task to the current assignee (delegation); they may take it back
    delegated_from: Mapped[str | None] = mapped_column(String(100), index=True)
    # 催办: the last time someone urged the task's holder (engine/office_verbs.py), and who
    urged_at: Mapped[_dt.datetime | None] = mapped_column()
    urged_by: Mapped[str | None] = mapped_column(String(100))

    instance: Mapped[Instance] = relationship()
    groups: Mapped[list[HumanTaskGroup]] = relationship(cascade="all, delete-orphan")


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
    at: Mapped[_dt.datetime] = mapped_column(default=default_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    task_bpmn_id: Mapped[str | None] = mapped_column(String(200))
    task_name: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict[str, Any] | None] = mapped_column()


class WorkerHeartbeat(Base):
    """One row per running worker process, refreshed every loop (for /healthz)."""

    __tablename__ = "worker_heartbeat"
    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    poll_seconds: Mapped[float] = mapped_column(default=2.0)
    started_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    last_seen: Mapped[_dt.datetime] = mapped_column(default=default_now, index=True)
    fired: Mapped[int] = mapped_column(Integer, default=0)  # timers fired since start
    sent: Mapped[int] = mapped_column(Integer, default=0)  # notifications sent since start


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
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the submitted data (API)
    instance_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class WorkCalendarData(Base):
    """The administrators' working-day calendar (one row, id 1): per year the holidays and
    the adjusted working weekends (调休), ``{"2027": {"holidays": [...], "workdays": [...]}}``.
    Every process compares ``revision`` with the one it loaded (engine.workdays) and reloads
    when it changed, so an edit takes effect everywhere without a restart."""

    __tablename__ = "work_calendar"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    years: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    updated_by: Mapped[str] = mapped_column(String(100), default="system")

    __mapper_args__ = {"version_id_col": revision}


class TimerStart(Base):
    """The schedule of one process whose latest version has a timer start event (issue 15):
    when the worker starts its next instance. Rows with ``kind = "none"`` mark a version that
    was looked at and has no timer start (so it is not parsed again)."""

    __tablename__ = "timer_start"
    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    kind: Mapped[str] = mapped_column(String(20))  # date / duration / cycle / none
    value: Mapped[str] = mapped_column(Text, default="")  # the evaluated timer expression
    next_fire_at: Mapped[_dt.datetime | None] = mapped_column(index=True)
    cycles_left: Mapped[int] = mapped_column(Integer, default=0)  # -1: unbounded
    period_seconds: Mapped[float] = mapped_column(default=0.0)
    last_fired_at: Mapped[_dt.datetime | None] = mapped_column()
    updated_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class TimerStartFire(Base):
    """One instance started by a timer start event: at most one per (process, fire time)."""

    __tablename__ = "timer_start_fire"
    __table_args__ = (UniqueConstraint("process_id", "fire_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    fire_at: Mapped[_dt.datetime] = mapped_column()
    instance_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id"), index=True
    )
    started_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    missed: Mapped[int] = mapped_column(Integer, default=0)  # earlier fire times skipped (downtime)
