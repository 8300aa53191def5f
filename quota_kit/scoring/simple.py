"""Single-factor strategies."""

from __future__ import annotations

from .base import Candidate, ScoringStrategy
from .factors import latency_factor, quota_factor

__all__ = ["LowestLatency", "MostRemaining", "PriorityOrder"]


class MostRemaining(ScoringStrategy):
    """The key with the largest remaining fraction of its tightest limit."""

    name = "most-remaining"

    def score(self, candidate: Candidate) -> float:
        return 100 * quota_factor(candidate)


class LowestLatency(ScoringStrategy):
    """The key with the lowest recent latency; unknown latency counts as 1 s."""

    name = "lowest-latency"

    def score(self, candidate: Candidate) -> float:
        return 100 * latency_factor(candidate)


class PriorityOrder(ScoringStrategy):
    """Strict priority: every priority-1 key before any priority-2 key, and so
    on; registration order among equals."""

    name = "priority"

    def score(self, candidate: Candidate) -> float:
        return 100 / max(1, candidate.priority)
