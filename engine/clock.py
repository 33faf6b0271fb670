"""An injectable clock.

SpiffWorkflow reads ``datetime.now(timezone.utc)`` inside its timer event definitions.
The engine installs a ``datetime`` subclass into that one module whose ``now()`` asks
the clock of the current context, so tests move time instead of sleeping and the
production clock is the system's.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

UTC = _dt.UTC


class Clock(Protocol):
    def now(self) -> _dt.datetime: ...


class SystemClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to (for tests and the demo history)."""

    def __init__(self, start: _dt.datetime | str = "2026-03-02T01:00:00+00:00") -> None:
        if isinstance(start, str):
            start = _dt.datetime.fromisoformat(start)
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start

    def now(self) -> _dt.datetime:
        return self._now

    def set(self, when: _dt.datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=UTC)

    def advance(self, **kwargs: float) -> _dt.datetime:
        self._now = self._now + _dt.timedelta(**kwargs)
        return self._now


_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("zhitongche_clock", default=SystemClock())


def now() -> _dt.datetime:
    return _current.get().now()


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


class _ClockDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


def install_into_spiffworkflow() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
