"""The candidate snapshot and the strategy base class.

A :class:`Candidate` is a read-only picture of one key at selection time: its
quotas, health, latency and cooldown. A :class:`ScoringStrategy` turns one
candidate into a number; ranking, and therefore selection, is built on that one
method. Higher is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from ..results import QuotaInfo
from ..status import STATUSES, Status

__all__ = ["Candidate", "ScoringStrategy"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One key as the router sees it before a call. Immutable.

    ``quotas`` lists every limit that applies to the key (its own, its model's,
    its pool's; per day and per minute). ``health`` is the recent success rate
    (0..1, 1.0 with no data), ``latency`` the recent average in seconds (None
    with no data).
    """

    provider: str
    key_id: int | str
    priority: int = 1
    quotas: tuple[QuotaInfo, ...] = ()
    health: float = 1.0
    latency: float | None = None
    cooldown_until: datetime | None = None
    disabled: bool = False
    position: int = 0
    """Registration order, used to break ties."""
    fits: bool = True
    """Whether the request being routed fits every limit of the key."""
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    """The key's ``labels`` (from :class:`~quota_kit.ApiKey`), for custom scoring."""

    @property
    def ident(self) -> tuple[str, str]:
        return (self.provider, str(self.key_id))

    @property
    def label(self) -> str:
        return f"{self.provider} Key {self.key_id}"

    @property
    def cooling_down(self) -> bool:
        return self.cooldown_until is not None

    def remaining_fraction(self, metric: str | None = None, window: str | None = None) -> float:
        """The least remaining fraction (0..1) among the matching limits; 1.0 when
        no limit matches."""
        fractions = [
            (q["remaining"] / q["limit"]) if q["limit"] > 0 else 0.0
            for q in self.quotas
            if (metric is None or q["metric"] == metric)
            and (window is None or q["window"] == window)
        ]
        return min(fractions, default=1.0)

    @property
    def status(self) -> Status:
        """The worst status among the key's limits."""
        return max((q["status"] for q in self.quotas), key=STATUSES.index, default="healthy")

    def binding_quota(self) -> QuotaInfo | None:
        """The limit with the least remaining fraction, if any."""
        if not self.quotas:
            return None
        return min(self.quotas, key=lambda q: q["remaining"] / q["limit"] if q["limit"] else 0.0)


class ScoringStrategy:
    """Base class of scoring strategies. Override :meth:`score`.

    ::

        class CheapestFirst(ScoringStrategy):
            name = "cheapest"

            def score(self, candidate):
                # ApiKey(..., labels={"price": "3"}) reaches the candidate as labels
                return 100 - float(candidate.labels.get("price", 0))

    A subclass with a ``name`` is registered and can be chosen by that name
    (``KeyRouter(strategy="cheapest")``). Scores should stay within 0..100.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            from .registry import register_strategy

            register_strategy(cls.name, cls)

    def score(self, candidate: Candidate) -> float:
        """The desirability of ``candidate``: higher is better."""
        raise NotImplementedError(f"{type(self).__name__} must implement score()")

    def rank(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Candidates from best to worst: by score, then priority, then position."""
        scored = [(self.score(c), c) for c in candidates]
        scored.sort(key=lambda sc: (-sc[0], sc[1].priority, sc[1].position))
        return [c for _, c in scored]

    def selected(self, candidate: Candidate) -> None:
        """Called when the router hands ``candidate`` out. No-op by default."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
