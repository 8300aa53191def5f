"""Clocks: zero-argument callables that return an aware datetime.

The tracker never calls ``datetime.now()`` itself; it asks its clock. Tests pass a
:class:`FakeClock` and move it, so no test ever sleeps to cross a window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from .errors import InvalidInputError

__all__ = ["Clock", "FakeClock", "system_clock", "checked_now"]

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current time as an aware datetime."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(timezone.utc)


def checked_now(clock: Clock) -> datetime:
    """Call ``clock`` and return its answer in UTC, refusing naive datetimes."""
    now = clock()
    if not isinstance(now, datetime):
        raise InvalidInputError(f"the clock must return a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError(
            f"the clock returned a naive datetime ({now.isoformat()}); "
            "return an aware one, e.g. datetime.now(timezone.utc)"
        )
    return now.astimezone(timezone.utc)


class FakeClock:
    """A settable clock for tests and simulations. Thread-safe.

    >>> clock = FakeClock(datetime(2030, 1, 1, 23, 59, tzinfo=timezone.utc))
    >>> clock.advance(minutes=1)
    >>> clock().isoformat()
    '2030-01-02T00:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start if start is not None else system_clock()
        if start.tzinfo is None or start.utcoffset() is None:
            raise InvalidInputError("FakeClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (an aware datetime)."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidInputError("FakeClock.set needs an aware datetime")
        with self._lock:
            self._now = when

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> None:
        """Move forward by ``delta`` plus the given amounts."""
        step = (delta or timedelta()) + timedelta(
            seconds=seconds, minutes=minutes, hours=hours, days=days
        )
        with self._lock:
            self._now = self._now + step

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
