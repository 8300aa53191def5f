"""Statuses, percentages and threshold crossings. Pure functions, exact integer
arithmetic: ``used * 100 >= threshold * limit`` is decided with fractions, so
10,800 of 14,400 is exactly 75 % and "warning"."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Literal

from .models import Thresholds

__all__ = ["Status", "crossed_levels", "percentage", "reached", "status_for"]

Status = Literal["healthy", "warning", "critical", "exhausted"]

STATUSES: tuple[Status, ...] = ("healthy", "warning", "critical", "exhausted")


@lru_cache(maxsize=256)
def _ratio(percent: float) -> tuple[int, int]:
    # Through str, so 33.3 means 333/10 exactly, not the nearest binary float.
    exact = Fraction(str(percent))
    return exact.numerator, exact.denominator


def reached(used: int, limit: int, percent: float) -> bool:
    """Whether ``used`` is at least ``percent`` % of ``limit`` (a limit of 0 is
    always reached). Exact integer arithmetic: ``percent`` is read as the decimal
    it prints as."""
    num, den = _ratio(percent)
    return used * 100 * den >= num * limit


def status_for(used: int, limit: int, thresholds: Thresholds) -> Status:
    """The status of ``used`` out of ``limit``: monotonic in ``used``."""
    if reached(used, limit, thresholds.exhausted):
        return "exhausted"
    if reached(used, limit, thresholds.critical):
        return "critical"
    if reached(used, limit, thresholds.warning):
        return "warning"
    return "healthy"


def percentage(used: int, limit: int) -> float:
    """``used`` as a percentage of ``limit``, to one decimal (100.0 for limit 0)."""
    if limit <= 0:
        return 100.0 if used >= 0 else 0.0
    return round(used * 100 / limit, 1)


def crossed_levels(
    before: int, after: int, limit: int, thresholds: Thresholds
) -> list[tuple[Status, float]]:
    """The levels a write from ``before`` to ``after`` crossed upwards.

    Because each atomic write owns a distinct ``(before, after]`` interval,
    exactly one writer sees each crossing, however many processes share a store.
    """
    if after <= before:
        return []
    return [
        (level, pct)  # type: ignore[misc]
        for level, pct in thresholds.levels()
        if not reached(before, limit, pct) and reached(after, limit, pct)
    ]
