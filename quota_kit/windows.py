"""Calendar-aligned windows. Pure arithmetic, no I/O.

A *day* window runs from one reset instant to the next, where the reset is a
wall-clock time of day in an IANA timezone (00:00 UTC by default; Gemini resets
at midnight America/Los_Angeles). Around DST changes a day lasts 23 or 25 hours.
A *minute* window runs from one UTC minute boundary (``:00`` seconds) to the next.
Windows never start at the first hit, so every process agrees on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigurationError

__all__ = ["DailyReset", "Window", "WindowKind", "minute_window", "span_window", "to_iso"]

WindowKind = Literal["day", "minute"]

UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class Window:
    """One window: ``start <= t < end``, both aware UTC datetimes.

    ``label`` names the window inside bucket names (``d20261203``, ``m29412345``);
    it is unique among windows of the same kind and reset policy.
    """

    kind: str
    start: datetime
    end: datetime
    label: str

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown timezone {name!r}: use an IANA name such as 'UTC' or 'America/Los_Angeles'"
        ) from exc


@dataclass(frozen=True, slots=True)
class DailyReset:
    """When a daily quota resets: a wall-clock ``time`` in an IANA ``timezone``.

    >>> r = DailyReset("America/Los_Angeles")
    >>> w = r.window_at(datetime(2030, 3, 10, 12, tzinfo=UTC))  # DST starts that day
    >>> (w.end - w.start) == timedelta(hours=23)
    True
    """

    timezone: str = "UTC"
    time: time = time(0, 0)

    def __post_init__(self) -> None:
        _zone(self.timezone)  # fail early on a bad name
        if self.time.tzinfo is not None:
            raise ConfigurationError("the reset time must be naive; give the zone in 'timezone'")

    def boundary(self, day: date) -> datetime:
        """The reset instant (UTC) that starts the local calendar ``day``.

        A reset time inside a DST gap is read with the offset in force before the
        gap, so it moves forward by the gap's length (02:30 becomes 03:30
        daylight time); one that occurs twice maps to its first occurrence.
        """
        local = datetime.combine(day, self.time, tzinfo=_zone(self.timezone))
        return local.astimezone(UTC)

    def window_at(self, now: datetime) -> Window:
        """The day window containing the aware instant ``now``."""
        return _day_window(self, now.astimezone(UTC))

    def _compute(self, now: datetime) -> Window:
        day = now.astimezone(_zone(self.timezone)).date()
        start = self.boundary(day)
        while start > now:
            day -= timedelta(days=1)
            start = self.boundary(day)
        end = self.boundary(day + timedelta(days=1))
        while end <= now:
            day += timedelta(days=1)
            start, end = end, self.boundary(day + timedelta(days=1))
        return Window("day", start, end, f"d{day:%Y%m%d}")


@lru_cache(maxsize=512)
def _day_window(reset: DailyReset, now: datetime) -> Window:
    # Memoised: ranking many keys asks for the same windows at the same instant.
    return reset._compute(now)


@lru_cache(maxsize=512)
def span_window(now: datetime, seconds: int, prefix: str) -> Window:
    """The window of ``seconds`` length aligned on the Unix epoch that holds ``now``."""
    ts = int(now.timestamp() // seconds)
    start = datetime.fromtimestamp(ts * seconds, UTC)
    return Window(prefix, start, start + timedelta(seconds=seconds), f"{prefix[0]}{ts}")


def minute_window(now: datetime) -> Window:
    """The UTC calendar minute holding ``now``."""
    return span_window(now, 60, "minute")


def to_iso(when: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix: ``2026-12-04T00:00:00Z``."""
    text = when.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
