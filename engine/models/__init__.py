"""Database tables (SQLAlchemy 2 typed models), one module per concern; everything is
re-exported here (``from engine.models import Instance``). Schema changes go through Alembic
(engine/migrations)."""
from __future__ import annotations

from .base import Base, JsonType, UtcDateTime
from .process import Deployment, ProcessVersion, Instance, HumanTask, HumanTaskGroup, AuditEntry, WorkerHeartbeat, CaseCounter, SubmissionKey, WorkCalendarData, TimerStart, TimerStartFire
from .people import User, ApiToken, UserSession, LoginAttempt, Notification, UserNotice, SavedFilter, CaseCopy, Phrase
from .case import CaseComment, Attachment, StoredFile, StoredFileChunk, CaseRecord, CaseUnit, BulletinSeries, Bulletin, WorkRecord, StatsReceived, StatsReceivedDim, StatsClosed, StatsUnit, StatsEnterprise, StatsEnterpriseDay, StatsEnterpriseGap

__all__ = [
    "Base", "JsonType", "UtcDateTime", "Deployment", "ProcessVersion", "Instance", "HumanTask",
    "HumanTaskGroup", "AuditEntry", "WorkerHeartbeat", "CaseCounter", "SubmissionKey", "WorkCalendarData",
    "TimerStart", "TimerStartFire", "User", "ApiToken", "UserSession", "LoginAttempt", "Notification",
    "UserNotice", "SavedFilter", "CaseCopy", "Phrase", "CaseComment", "Attachment", "StoredFile",
    "StoredFileChunk", "CaseRecord", "CaseUnit", "BulletinSeries", "Bulletin", "WorkRecord", "StatsReceived",
    "StatsReceivedDim", "StatsClosed", "StatsUnit", "StatsEnterprise", "StatsEnterpriseDay",
    "StatsEnterpriseGap",
]
