"""Round-robin: take turns among the eligible keys."""

from __future__ import annotations

import itertools
import threading

from .base import Candidate, ScoringStrategy

__all__ = ["RoundRobin"]


class RoundRobin(ScoringStrategy):
    """The eligible key handed out least recently scores highest.

    The turn order is kept in this process (it is a spreading heuristic, not a
    quota, so it needs no shared state); keys never handed out go first, in
    priority then registration order.
    """

    name = "round-robin"

    def __init__(self) -> None:
        self._tick = itertools.count(1)
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def score(self, candidate: Candidate) -> float:
        last = self._last.get(candidate.ident, 0)
        return 100 / (1 + last)

    def selected(self, candidate: Candidate) -> None:
        with self._lock:
            self._last[candidate.ident] = next(self._tick)
