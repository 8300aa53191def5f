"""Scoring strategies: bounds, monotonicity, choice by name and by subclass."""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quota_kit import ConfigurationError
from quota_kit.results import QuotaInfo
from quota_kit.scoring import (
    Candidate,
    LowestLatency,
    MostRemaining,
    PriorityOrder,
    Randomized,
    RoundRobin,
    ScoringStrategy,
    WeightedScore,
    available_strategies,
    get_strategy,
)


def quota(used: int, limit: int) -> QuotaInfo:
    return QuotaInfo(
        used=used,
        limit=limit,
        remaining=max(0, limit - used),
        percentage=round(used * 100 / limit, 1) if limit else 100.0,
        status="healthy",
        resets_at="2031-03-05T00:00:00Z",
        metric="tokens",
        window="day",
        scope="key",
    )


def cand(
    remaining: float = 1.0,
    health: float = 1.0,
    latency: float | None = None,
    priority: int = 1,
    key_id: int = 1,
) -> Candidate:
    limit = 10_000
    return Candidate(
        provider="groq",
        key_id=key_id,
        priority=priority,
        quotas=(quota(limit - round(remaining * limit), limit),),
        health=health,
        latency=latency,
        position=key_id,
    )


fractions = st.floats(0, 1)
latencies = st.one_of(st.none(), st.floats(0, 1e6))
priorities = st.integers(1, 10)
weights = st.tuples(*[st.floats(0, 1000)] * 4).filter(lambda w: sum(w) > 0)
BUILTINS = [WeightedScore(), MostRemaining(), LowestLatency(), PriorityOrder(), RoundRobin()]


@given(fractions, fractions, latencies, priorities, weights)
def test_scores_stay_within_0_and_100(
    remaining: float, health: float, latency: float | None, priority: int, w: Any
) -> None:
    c = cand(remaining, health, latency, priority)
    for strategy in [*BUILTINS, WeightedScore(*w)]:
        assert 0 <= strategy.score(c) <= 100


@given(fractions, fractions, fractions, latencies, priorities)
def test_weighted_score_rises_with_remaining_quota(
    a: float, b: float, health: float, latency: float | None, priority: int
) -> None:
    low, high = sorted((a, b))
    s = WeightedScore()
    assert s.score(cand(low, health, latency, priority)) <= s.score(
        cand(high, health, latency, priority)
    )


@given(fractions, fractions, fractions, latencies, priorities)
def test_weighted_score_rises_with_health(
    a: float, b: float, remaining: float, latency: float | None, priority: int
) -> None:
    low, high = sorted((a, b))
    s = WeightedScore()
    assert s.score(cand(remaining, low, latency, priority)) <= s.score(
        cand(remaining, high, latency, priority)
    )


@given(st.floats(0, 1e6), st.floats(0, 1e6), fractions, fractions, priorities)
def test_weighted_score_never_rises_with_latency(
    a: float, b: float, remaining: float, health: float, priority: int
) -> None:
    fast, slow = sorted((a, b))
    s = WeightedScore()
    assert s.score(cand(remaining, health, slow, priority)) <= s.score(
        cand(remaining, health, fast, priority)
    )


def test_latency_cannot_swamp_the_other_weights() -> None:
    # The original 1/latency*20 gave 200 points at 0.1 s. Here latency is worth
    # at most its 20 % weight, so a fast but nearly exhausted key loses.
    s = WeightedScore()
    fast_but_empty = cand(remaining=0.02, latency=0.01)
    slow_but_full = cand(remaining=1.0, latency=5.0)
    assert s.score(fast_but_empty) - s.score(cand(remaining=0.02, latency=1e9)) <= 20
    assert s.score(slow_but_full) > s.score(fast_but_empty)


def test_seed_priority_points() -> None:
    s = WeightedScore(quota=0, health=0, latency=0, priority=10)
    assert [round(s.score(cand(priority=p)), 6) for p in (1, 2, 3, 7)] == [100, 50, 20, 20]


def test_weights_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="non-negative"):
        WeightedScore(quota=-1)
    with pytest.raises(ConfigurationError, match="positive sum"):
        WeightedScore(0, 0, 0, 0)


def test_strategies_by_name() -> None:
    assert {
        "weighted",
        "most-remaining",
        "lowest-latency",
        "priority",
        "round-robin",
        "random-weighted",
    } <= set(available_strategies())
    assert isinstance(get_strategy("most-remaining"), MostRemaining)
    assert isinstance(get_strategy("random-weighted"), Randomized)
    assert isinstance(get_strategy(PriorityOrder), PriorityOrder)
    with pytest.raises(ConfigurationError, match="unknown scoring strategy 'fastest'"):
        get_strategy("fastest")


def test_subclass_registers_its_name() -> None:
    class PreferOdd(ScoringStrategy):
        name = "prefer-odd-test"

        def score(self, candidate: Candidate) -> float:
            return 100.0 if int(candidate.key_id) % 2 else 0.0

    strategy = get_strategy("prefer-odd-test")
    assert isinstance(strategy, PreferOdd)
    ranked = strategy.rank([cand(key_id=2), cand(key_id=3), cand(key_id=4)])
    assert [c.key_id for c in ranked] == [3, 2, 4]


def test_base_class_needs_score() -> None:
    with pytest.raises(NotImplementedError, match="must implement score"):
        ScoringStrategy().score(cand())


def test_ties_break_by_priority_then_registration_order() -> None:
    ranked = MostRemaining().rank(
        [cand(key_id=3, priority=2), cand(key_id=2), cand(key_id=1, priority=2)]
    )
    assert [c.key_id for c in ranked] == [2, 1, 3]


@given(st.integers(2, 8), st.integers(0, 3))
def test_round_robin_visits_every_key(n: int, rounds: int) -> None:
    rr = RoundRobin()
    keys = [cand(key_id=i, remaining=i / n) for i in range(n)]
    seen: list[int | str] = []
    for _ in range(n * (rounds + 1)):
        best = rr.rank(keys)[0]
        rr.selected(best)
        seen.append(best.key_id)
    for r in range(rounds + 1):
        assert sorted(seen[r * n : (r + 1) * n]) == list(range(n))


def test_randomized_picks_in_proportion_to_score() -> None:
    strategy = Randomized(MostRemaining(), seed=1234)
    keys = [
        cand(key_id=1, remaining=0.8),
        cand(key_id=2, remaining=0.2),
        cand(key_id=3, remaining=0),
    ]
    firsts = Tally(strategy.rank(keys)[0].key_id for _ in range(4000))
    share = firsts[1] / 4000
    assert 0.75 < share < 0.85  # expected 0.8
    assert firsts[3] == 0  # a zero score never comes first while others score
    assert all(strategy.rank(keys)[-1].key_id == 3 for _ in range(50))
