"""The 直通车 case's own tables: comments, attachments and stored files, the case record and its
units (the statistics projection), bulletins, work records and the statistics rollups."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, default_now


class CaseComment(Base):
    """A remark on a case by an official or the enterprise (shown in its timeline)."""

    __tablename__ = "case_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)  # officials only, hidden from the enterprise
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class Attachment(Base):
    """An uploaded file of a case; its bytes are the ``stored_file`` named by ``storage_key``
    (engine/storage.py; before ``zhitongche files-migrate``, a file under Settings.upload_dir)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class StoredFile(Base):
    """The bytes of a file kept in the database (engine/storage.py), in ``stored_file_chunk`` rows,
    so that every web process reads what any other one stored and a database backup holds them."""

    __tablename__ = "stored_file"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


class StoredFileChunk(Base):
    """One piece (at most engine.storage.CHUNK_BYTES) of a stored file: ``bytea`` / BLOB."""

    __tablename__ = "stored_file_chunk"
    file_key: Mapped[str] = mapped_column(ForeignKey("stored_file.key", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


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
        # the dashboard's "open, not overdue" and "awaiting intake" counts of a period read only
        # these small partial indexes (index-only on PostgreSQL), not every open case's row
        Index(
            "ix_case_record_open_received",
            "received_at",
            "deadline",
            "county",
            postgresql_where=text("is_open"),
            sqlite_where=text("is_open"),
        ),
        Index(
            "ix_case_record_awaiting_intake",
            "received_at",
            "county",
            postgresql_where=text("is_open AND accepted_at IS NULL"),
            sqlite_where=text("is_open AND accepted_at IS NULL"),
        ),
        Index("ix_case_record_lead_closed", "lead_unit", "closed_at"),
        Index("ix_case_record_uscc", "uscc"),
        # substring search (engine/search.py): trigrams on PostgreSQL; SQLite scans (see there),
        # its index is kept empty (WHERE 0) so that both databases have the same schema
        Index(
            "ix_case_record_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            sqlite_where=text("0"),
        ),
        # the worker's fold finds the few records due without a scan (engine/stats/fold.py)
        Index(
            "ix_case_record_rollup_due",
            "instance_id",
            postgresql_where=text("rollup_due"),
            sqlite_where=text("rollup_due = 1"),
        ),
    )
    instance_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True
    )
    case_no: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    county: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(50))
    urgency: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(30))
    mode: Mapped[str | None] = mapped_column(String(20))
    lead_unit: Mapped[str | None] = mapped_column(String(100))
    coop_units: Mapped[list[Any]] = mapped_column(default=list)
    uscc: Mapped[str | None] = mapped_column(String(18))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(50))  # the summary's Chinese label
    is_open: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[str | None] = mapped_column(String(20))  # solved/rejected/withdrawn/explained/no_answer
    received_at: Mapped[_dt.datetime] = mapped_column()
    accepted_at: Mapped[_dt.datetime | None] = mapped_column()
    closed_at: Mapped[_dt.datetime | None] = mapped_column()
    deadline: Mapped[_dt.datetime | None] = mapped_column()
    warning: Mapped[str | None] = mapped_column(String(10))  # yellow | red | None (now)
    ever_overdue: Mapped[bool] = mapped_column(default=False)  # turned red at least once
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(default=False)
    leader_mode: Mapped[str | None] = mapped_column(String(20))  # 签批督办/专题会议/现场办公
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    on_time: Mapped[bool | None] = mapped_column()  # closed after handling, never overdue
    workdays_to_close: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    # what the search box finds (case number, enterprise, title, description, contact, results)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # statistics folded by the worker (engine/stats/fold.py): every step sets ``rollup_due``; the
    # fold applies the difference between what the rollups count of the case (``rollup_applied``,
    # a ``Facts`` JSON array; NULL: nothing) and this row, stores the new snapshot and clears the
    # flag. Only the fold and ``rebuild_rollups`` write ``rollup_applied``.
    rollup_due: Mapped[bool] = mapped_column(default=True, server_default=false())  # (SQL-written rows: rebuild)
    rollup_applied: Mapped[list[Any] | None] = mapped_column()


class CaseUnit(Base):
    """One row per unit ever assigned to a case (lead or cooperating): 协调部门 counts these."""

    __tablename__ = "case_unit"
    __table_args__ = (
        Index("ix_case_unit_unit_assigned", "unit", "assigned_at"),
        Index("ix_case_unit_assigned", "assigned_at"),
    )
    instance_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True
    )
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # lead | coop (lead once led)
    county: Mapped[str | None] = mapped_column(String(50))
    assigned_at: Mapped[_dt.datetime] = mapped_column()
    # counted in stats_unit: a row the engine writes is not yet (the worker's fold counts it); rows
    # written in SQL (the migration's, the bench's) are counted by ``rebuild_rollups``
    counted: Mapped[bool] = mapped_column(default=False, server_default=true())


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
    period_from: Mapped[_dt.date | None] = mapped_column()
    period_to: Mapped[_dt.date | None] = mapped_column()
    case_ids: Mapped[list[Any]] = mapped_column(default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the period's figures, frozen at compose time
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | signing | issued
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    composed_by: Mapped[str] = mapped_column(String(100))
    signed_by: Mapped[str | None] = mapped_column(String(100))
    leader_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)
    issued_at: Mapped[_dt.datetime | None] = mapped_column()


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
    created_at: Mapped[_dt.datetime] = mapped_column(default=default_now)


# -- statistics rollups (the worker folds them from the case_record rows steps mark due: engine/stats/fold.py) --
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
