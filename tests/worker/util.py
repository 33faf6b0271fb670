"""Helpers shared by the worker tests."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import AuditEntry


def audit_count(session, action: str, instance_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    if instance_id is not None:
        query = query.where(AuditEntry.instance_id == instance_id)
    return session.scalar(query)
