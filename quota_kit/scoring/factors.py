"""Normalised factors, each in 0..1, shared by the built-in strategies."""

from __future__ import annotations

from .base import Candidate

__all__ = ["health_factor", "latency_factor", "priority_factor", "quota_factor"]


def quota_factor(candidate: Candidate) -> float:
    """The least remaining fraction among the key's limits (1.0 with no limits)."""
    return min(1.0, max(0.0, candidate.remaining_fraction()))


def health_factor(candidate: Candidate) -> float:
    return min(1.0, max(0.0, candidate.health))


def latency_factor(candidate: Candidate, reference: float = 1.0) -> float:
    """``reference / (reference + latency)``: 1.0 at zero latency, 0.5 at the
    reference latency (also used when latency is unknown), towards 0 as latency
    grows. Bounded, unlike the original ``1 / latency``, which reached 10 at 0.1 s
    and swamped the other factors."""
    latency = reference if candidate.latency is None else max(0.0, candidate.latency)
    return reference / (reference + latency)


def priority_factor(candidate: Candidate) -> float:
    """The original points, normalised: priority 1 → 1.0, 2 → 0.5, 3+ → 0.2."""
    if candidate.priority <= 1:
        return 1.0
    if candidate.priority == 2:
        return 0.5
    return 0.2
