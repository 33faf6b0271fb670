"""Domain exceptions (the web layer maps each to one HTTP status and one error shape), and the
incident record a case in error carries (``Instance.error``)."""

from __future__ import annotations

from typing import Any

from .forms import FormValidationError
from .parsing import BundleError, Problem


class EngineError(Exception):
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The thing changed under us: a task completed twice at once, an instance moved on."""

    code = "conflict"


class NotAllowed(EngineError):
    code = "forbidden"


class InvalidRequest(EngineError):
    code = "invalid"


class MessageNotAccepted(EngineError):
    """A message for an instance that is not waiting for it."""

    code = "message_not_accepted"


def incident_record(
    message: str, at: str, element_id: str | None = None, element_name: str | None = None, **extra: Any
) -> dict[str, Any]:
    """``Instance.error``: what failed (the element, when known), why, and when (ISO time);
    ``extra`` for kinds that say more (a stall: ``kind``, ``completed_by``)."""
    return {**extra, "element_id": element_id, "element_name": element_name, "message": message, "at": at}


__all__ = [
    "incident_record",
    "EngineError",
    "NotFound",
    "Conflict",
    "NotAllowed",
    "InvalidRequest",
    "MessageNotAccepted",
    "FormValidationError",
    "BundleError",
    "Problem",
]
