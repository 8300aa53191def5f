"""Scoring strategies: how the router ranks candidate keys.

Choose one by name or pass an instance::

    KeyRouter(tracker, strategy="weighted")              # the default
    KeyRouter(tracker, strategy=WeightedScore(quota=60, health=20, latency=10, priority=10))
    KeyRouter(tracker, strategy=Randomized(MostRemaining()))

Or subclass :class:`ScoringStrategy` and override :meth:`~ScoringStrategy.score`.

====================  ============================================================
name                  strategy
====================  ============================================================
``weighted``          :class:`WeightedScore`: quota 40, health 30, latency 20, priority 10
``most-remaining``    :class:`MostRemaining`
``lowest-latency``    :class:`LowestLatency`
``priority``          :class:`PriorityOrder`
``round-robin``       :class:`RoundRobin`
``random-weighted``   :class:`Randomized` around :class:`WeightedScore`
====================  ============================================================
"""

from .base import Candidate, ScoringStrategy
from .randomized import Randomized
from .registry import available_strategies, get_strategy, register_strategy
from .round_robin import RoundRobin
from .simple import LowestLatency, MostRemaining, PriorityOrder
from .weighted import WeightedScore

__all__ = [
    "Candidate",
    "LowestLatency",
    "MostRemaining",
    "PriorityOrder",
    "Randomized",
    "RoundRobin",
    "ScoringStrategy",
    "WeightedScore",
    "available_strategies",
    "get_strategy",
    "register_strategy",
]
