"""Result types. Results are plain dicts (``TypedDict``): subscriptable like the
original ``quota["status"]``, JSON-serialisable as they are, and typed for mypy.
Events are frozen dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from .status import Status

__all__ = [
    "ConsumeResult",
    "QuotaInfo",
    "ThresholdEvent",
    "TodayUsage",
    "UsageRecord",
]


class TodayUsage(TypedDict):
    """Usage of one key in its current day window."""

    tokens_used: int
    requests_count: int


class UsageRecord(TodayUsage):
    """What :meth:`QuotaTracker.log_usage` returns: the day totals after the write."""

    last_updated: str
    """ISO-8601 UTC time of the write, e.g. ``2026-12-03T14:23:00Z``."""


class QuotaInfo(TypedDict):
    """One limit of one key (or of its pool) in one window."""

    used: int
    limit: int
    remaining: int
    """``max(0, limit - used)``."""
    percentage: float
    """``used / limit * 100`` to one decimal."""
    status: Status
    """"healthy", "warning" (>= 75 %), "critical" (>= 90 %) or "exhausted" (>= 100 %)."""
    resets_at: str
    """ISO-8601 UTC start of the next window."""
    metric: str
    """"tokens" or "requests"."""
    window: str
    """"day" or "minute"."""
    scope: str
    """Whose limit: "key", "pool:<id>", "model:<name>" or "pool:<id>/model:<name>"."""


class ConsumeResult(UsageRecord):
    """What :meth:`QuotaTracker.try_consume` returns."""

    admitted: bool
    """Whether the usage fit every limit and was recorded. A refusal writes nothing."""
    quotas: list[QuotaInfo]
    """Every limit of the key after the call (before it, when refused)."""
    refused_by: list[QuotaInfo]
    """The limits that would have been exceeded; empty when admitted."""


@dataclass(frozen=True, slots=True)
class ThresholdEvent:
    """A write took a limit across a threshold. Fired once per crossing."""

    provider: str
    key_id: int | str
    level: Status
    """"warning", "critical" or "exhausted"."""
    threshold: float
    """The percentage crossed, e.g. 75.0."""
    metric: str
    window: str
    scope: str
    used: int
    limit: int
    percentage: float
    at: str
    """ISO-8601 UTC time of the write."""
    resets_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
