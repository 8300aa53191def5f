"""Spread load: pick in proportion to score instead of always the top key."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .base import Candidate, ScoringStrategy

__all__ = ["Randomized"]


class Randomized(ScoringStrategy):
    """Wraps a strategy and orders candidates by weighted random sampling.

    A key with twice the score is twice as likely to come first, so many workers
    reading the same state do not all rush the single top key. Keys scoring 0
    come last. ``Randomized(WeightedScore())``, or by name ``"random-weighted"``.
    """

    name = "random-weighted"

    def __init__(self, inner: ScoringStrategy | None = None, *, seed: int | None = None) -> None:
        from .weighted import WeightedScore

        self.inner = inner if inner is not None else WeightedScore()
        self._random = random.Random(seed)

    def score(self, candidate: Candidate) -> float:
        return self.inner.score(candidate)

    def rank(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        # Efraimidis-Spirakis: sort by u ** (1 / w), a weighted sample without
        # replacement in one pass.
        keyed = []
        for c in candidates:
            weight = max(0.0, self.score(c))
            draw = self._random.random() ** (1 / weight) if weight > 0 else -1.0
            keyed.append((draw, c))
        keyed.sort(key=lambda dc: -dc[0])
        return [c for _, c in keyed]

    def selected(self, candidate: Candidate) -> None:
        self.inner.selected(candidate)

    def __repr__(self) -> str:
        return f"Randomized({self.inner!r})"
