"""The default strategy: the original 40/30/20/10 weighting, normalised."""

from __future__ import annotations

from ..errors import ConfigurationError
from .base import Candidate, ScoringStrategy
from .factors import health_factor, latency_factor, priority_factor, quota_factor

__all__ = ["WeightedScore"]


class WeightedScore(ScoringStrategy):
    """Remaining quota 40 %, health 30 %, latency 20 %, priority 10 %.

    Each factor is normalised to 0..1 and the weights are normalised to sum to
    100, so the score always lies within 0..100 whatever the weights. The score
    never decreases when remaining quota or health rises, and never increases
    when latency rises.

    :param latency_reference: the latency (seconds) that scores half the latency
        weight; also assumed for keys with no latency data yet.
    """

    name = "weighted"

    def __init__(
        self,
        quota: float = 40,
        health: float = 30,
        latency: float = 20,
        priority: float = 10,
        *,
        latency_reference: float = 1.0,
    ) -> None:
        weights = (quota, health, latency, priority)
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ConfigurationError(
                f"weights must be non-negative with a positive sum, got {weights}"
            )
        if latency_reference <= 0:
            raise ConfigurationError("latency_reference must be positive")
        total = sum(weights)
        self.weights = tuple(100 * w / total for w in weights)
        self.latency_reference = latency_reference

    def score(self, candidate: Candidate) -> float:
        wq, wh, wl, wp = self.weights
        score = (
            wq * quota_factor(candidate)
            + wh * health_factor(candidate)
            + wl * latency_factor(candidate, self.latency_reference)
            + wp * priority_factor(candidate)
        )
        return min(100.0, score)  # normalised weights may sum to 100 plus an ulp

    def __repr__(self) -> str:
        q, h, lat, p = (round(w, 2) for w in self.weights)
        return f"WeightedScore(quota={q}, health={h}, latency={lat}, priority={p})"
