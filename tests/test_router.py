"""KeyRouter on every backend: the seed scenario, leases, fallback, cooldowns, secrets."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quota_kit import (
    FakeClock,
    KeyLease,
    KeyRouter,
    ProviderError,
    QuotaExhaustedError,
    QuotaTracker,
    ScoringStrategy,
    StorageBackend,
)
from quota_kit.scoring import Candidate
from tests.conftest import START, BackendFactory


def groq_keys(n: int = 3, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"provider": "groq", "key_id": i, "tokens_per_day": 14400, **extra} for i in range(1, n + 1)
    ]


@pytest.fixture
def tracker(backend: StorageBackend, clock: FakeClock) -> QuotaTracker:
    return QuotaTracker(backend, keys=groq_keys(), clock=clock)


def test_seed_scenario(tracker: QuotaTracker, caplog: pytest.LogCaptureFixture) -> None:
    # Key 1: 14,000 tokens used (97 %), key 2: 500 (3 %), key 3: 10,000 (69 %).
    tracker.log_usage("groq", 1, 14000)
    tracker.log_usage("groq", 2, 500)
    tracker.log_usage("groq", 3, 10000)
    router = KeyRouter(tracker)
    caplog.set_level(logging.INFO, logger="quota_kit")
    assert [c.key_id for c in router.select("groq")] == [2, 3, 1]  # critical is not exhausted
    assert [c.key_id for c in router.select("groq", tokens=500)] == [2, 3]
    assert "Skipping groq Key 1: critical (97.2% used)" in caplog.messages
    with router.acquire("groq", tokens=500) as lease:
        assert lease.key_id == 2
    assert tracker.get_today_usage("groq", 2)["tokens_used"] == 1000


def test_a_key_with_room_for_a_small_request_stays_eligible(tracker: QuotaTracker) -> None:
    tracker.log_usage("groq", 1, 14000)  # 400 left
    router = KeyRouter(tracker, strategy="priority")
    assert [c.key_id for c in router.select("groq", tokens=400)] == [1, 2, 3]
    assert [c.key_id for c in router.select("groq", tokens=401)] == [2, 3]


def test_lease_reconciles_to_the_reported_usage(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority")
    with router.acquire("groq", tokens=1000) as lease:
        assert tracker.get_today_usage("groq", 1)["tokens_used"] == 1000  # reserved
        lease.report(tokens=640, latency=0.25)
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 640, "requests_count": 1}
    with router.acquire("groq", tokens=100) as lease:
        lease.report(tokens=180)  # over the estimate: the real cost is recorded
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 820
    (c,) = [c for c in tracker.candidates("groq") if c.key_id == 1]
    assert c.health == 1.0 and c.latency is not None


def test_lease_without_report_keeps_the_estimate(tracker: QuotaTracker) -> None:
    with KeyRouter(tracker, strategy="priority").acquire("groq", tokens=300):
        pass
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 300


def key1(tracker: QuotaTracker) -> Candidate:
    (c,) = [c for c in tracker.candidates("groq") if c.key_id == 1]
    return c


def test_lease_on_error_refunds_tokens_and_records_failure(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority")
    with pytest.raises(ConnectionError), router.acquire("groq", tokens=500):
        raise ConnectionError("reset by peer")
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 0, "requests_count": 1}
    assert key1(tracker).health == 0.0


def test_errors_that_are_not_the_keys_fault_leave_health_alone(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority")
    with pytest.raises(RuntimeError), router.acquire("groq", tokens=500):
        raise RuntimeError("bug in the calling code")
    with pytest.raises(ProviderError), router.acquire("groq", tokens=500):
        raise ProviderError(400, "bad prompt")
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 0, "requests_count": 2}
    assert key1(tracker).health == 1.0


def test_lease_settles_in_the_window_it_reserved_in(
    tracker: QuotaTracker, clock: FakeClock
) -> None:
    minute_key = {"provider": "groq", "key_id": 9, "tokens_per_minute": 1000}
    tracker.register_key(minute_key)
    clock.set(START.replace(hour=23, minute=59, second=50))
    router = KeyRouter(tracker, strategy="priority")
    with router.acquire("groq", tokens=900) as lease:
        assert lease.key_id == 1
        clock.advance(seconds=20)  # the call ends after midnight
        lease.report(tokens=300)
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 0  # the new day is untouched
    clock.set(START.replace(hour=23, minute=59, second=50))
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 300
    # The same holds for minute windows, which calls cross all the time.
    with router.acquire(
        "groq", tokens=900, exclude={("groq", "1"), ("groq", "2"), ("groq", "3")}
    ) as lease:
        assert lease.key_id == 9
        clock.advance(seconds=15)
        lease.report(tokens=100)
    (q,) = next(c for c in tracker.candidates("groq") if c.key_id == 9).quotas
    assert q["window"] == "minute" and q["used"] == 0  # next minute: nothing leaked in
    clock.advance(seconds=-15)
    (q,) = next(c for c in tracker.candidates("groq") if c.key_id == 9).quotas
    assert q["used"] == 100


def test_rate_limit_cools_the_key_for_retry_after_and_falls_back(
    tracker: QuotaTracker, clock: FakeClock
) -> None:
    router = KeyRouter(tracker, strategy="priority")
    calls: list[int | str] = []

    def fn(lease: KeyLease) -> str:
        calls.append(lease.key_id)
        if lease.key_id == 1:
            raise ProviderError(429, retry_after=20)
        return "ok"

    assert router.call(fn, "groq", tokens=100) == "ok"
    assert calls == [1, 2]
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 0  # refunded
    (c1,) = [c for c in tracker.candidates("groq") if c.key_id == 1]
    assert c1.cooldown_until == START + timedelta(seconds=20)
    assert [c.key_id for c in router.select("groq")] == [2, 3]
    clock.advance(seconds=19.999)
    assert 1 not in [c.key_id for c in router.select("groq")]
    clock.advance(seconds=0.001)
    assert [c.key_id for c in router.select("groq")] == [1, 2, 3]


def test_repeated_rate_limits_escalate(tracker: QuotaTracker, clock: FakeClock) -> None:
    router = KeyRouter(tracker, strategy="priority")
    rests = []
    for _ in range(3):
        with pytest.raises(ProviderError), router.acquire("groq", tokens=10):
            raise ProviderError(429)
        (c1,) = [c for c in tracker.candidates("groq") if c.key_id == 1]
        assert c1.cooldown_until is not None
        rests.append((c1.cooldown_until - clock()).total_seconds())
        clock.set(c1.cooldown_until)
    assert rests == [30, 60, 120]


def test_auth_failure_disables_until_enabled(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority")
    used: list[int | str] = []

    def fn(lease: KeyLease) -> int | str:
        used.append(lease.key_id)
        if lease.key_id == 1:
            raise ProviderError(401)
        return lease.key_id

    assert router.call(fn, "groq") == 2
    assert [c.key_id for c in router.select("groq")] == [2, 3]
    assert router.call(fn, "groq") == 2
    assert used == [1, 2, 2]
    router.enable_key("groq", 1)
    assert [c.key_id for c in router.select("groq")] == [1, 2, 3]


def test_bad_request_is_never_retried(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker)
    calls = []

    def fn(lease: KeyLease) -> None:
        calls.append(lease.key_id)
        raise ProviderError(400, "bad prompt")

    with pytest.raises(ProviderError, match="bad prompt"):
        router.call(fn, "groq")
    assert len(calls) == 1


def test_server_errors_fall_back_up_to_max_attempts(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority", max_attempts=2)
    calls = []

    def fn(lease: KeyLease) -> None:
        calls.append(lease.key_id)
        raise ProviderError(503, f"down on {lease.key_id}")

    with pytest.raises(ProviderError, match="down on 2"):
        router.call(fn, "groq")
    assert calls == [1, 2]


def test_http_client_exceptions_are_understood(tracker: QuotaTracker) -> None:
    class Response:
        status_code = 429
        headers: ClassVar[dict[str, str]] = {"retry-after": "7"}

    class HTTPStatusError(Exception):
        response = Response()

    router = KeyRouter(tracker, strategy="priority")

    def fn(lease: KeyLease) -> int | str:
        if lease.key_id == 1:
            raise HTTPStatusError()
        return lease.key_id

    assert router.call(fn, "groq") == 2
    (c1,) = [c for c in tracker.candidates("groq") if c.key_id == 1]
    assert c1.cooldown_until == START + timedelta(seconds=7)


def test_usage_callback_records_real_tokens(tracker: QuotaTracker) -> None:
    router = KeyRouter(tracker, strategy="priority")
    reply = router.call(lambda lease: {"usage": 77}, "groq", tokens=500, usage=lambda r: r["usage"])
    assert reply == {"usage": 77}
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 77


def test_no_key_left_names_the_earliest_reset(tracker: QuotaTracker) -> None:
    for i in (1, 2, 3):
        tracker.log_usage("groq", i, 14400)
    router = KeyRouter(tracker)
    with pytest.raises(QuotaExhaustedError, match="2031-03-05T00:00:00Z") as info:
        router.acquire("groq", tokens=1)
    assert info.value.resets_at == START.replace(day=5, hour=0)
    assert router.select("groq") == []


def test_cooldown_is_the_earliest_recovery(tracker: QuotaTracker) -> None:
    tracker.log_usage("groq", 1, 14400)
    tracker.log_usage("groq", 2, 14400)
    router = KeyRouter(tracker, strategy="priority")
    with pytest.raises(ProviderError), router.acquire("groq", tokens=1):
        raise ProviderError(429, retry_after=90)
    with pytest.raises(QuotaExhaustedError) as info:
        router.acquire("groq", tokens=1)
    assert info.value.resets_at == START + timedelta(seconds=90)


def test_pool_exhaustion_skips_every_member(backend: StorageBackend, clock: FakeClock) -> None:
    tracker = QuotaTracker(
        backend,
        clock=clock,
        pools=[{"pool_id": "proj", "requests_per_day": 2}],
        keys=[
            {"provider": "gemini", "key_id": 1, "pool": "proj"},
            {"provider": "gemini", "key_id": 2, "pool": "proj"},
            {"provider": "gemini", "key_id": 3, "requests_per_day": 100},
        ],
    )
    router = KeyRouter(tracker, strategy="priority")
    assert [router.acquire("gemini").key_id for _ in range(2)] == [1, 1]
    assert [c.key_id for c in router.select("gemini")] == [3]


def test_custom_strategy_is_used_at_once(tracker: QuotaTracker) -> None:
    class LastKeyFirst(ScoringStrategy):
        def score(self, candidate: Candidate) -> float:
            return float(candidate.key_id) * 10

    assert [c.key_id for c in KeyRouter(tracker, LastKeyFirst()).select("groq")] == [3, 2, 1]
    assert [c.key_id for c in KeyRouter(tracker, LastKeyFirst).select("groq")] == [3, 2, 1]


def test_health_is_shared_through_the_backend(backend: StorageBackend, clock: FakeClock) -> None:
    one = QuotaTracker(backend, keys=groq_keys(), clock=clock)
    other = QuotaTracker(backend, keys=groq_keys(), clock=clock)
    with pytest.raises(ProviderError), KeyRouter(one, strategy="priority").acquire("groq"):
        raise ProviderError(429, retry_after=60)
    assert sorted(c.key_id for c in KeyRouter(other).select("groq")) == [2, 3]
    (c1,) = [c for c in other.candidates("groq") if c.key_id == 1]
    assert c1.cooldown_until == START + timedelta(seconds=60)


def test_secret_never_leaves_the_key(
    backend: StorageBackend,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "gsk_live_SUPERSECRET_123"
    monkeypatch.setenv("GROQ_KEY_1", secret)
    keys = [
        {"provider": "groq", "key_id": 1, "tokens_per_day": 100, "api_key_env": "GROQ_KEY_1"},
        {"provider": "groq", "key_id": 2, "tokens_per_day": 100, "api_key": secret + "_2"},
    ]
    tracker = QuotaTracker(backend, keys=keys, clock=clock)
    router = KeyRouter(tracker, strategy="priority")
    caplog.set_level(logging.DEBUG)
    seen = []

    def fn(lease: KeyLease) -> None:
        seen.append(lease.api_key)
        if lease.key_id == 1:
            raise ProviderError(429)

    router.call(fn, "groq", tokens=90)
    assert seen == [secret, secret + "_2"]
    shown = " ".join(
        [
            caplog.text,
            repr(tracker),
            repr(router),
            *(repr(k) for k in tracker.registered_keys()),
            *(k.model_dump_json() for k in tracker.registered_keys()),
            repr(tracker.candidates()),
            repr(tracker.get_all_quotas()),
        ]
    )
    assert "SUPERSECRET" not in shown
    if hasattr(backend, "_values"):  # the memory backend: look at everything stored
        assert "SUPERSECRET" not in repr(backend._values)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    used=st.lists(st.integers(0, 1200), min_size=1, max_size=5),
    tokens=st.integers(0, 1100),
    requests=st.integers(0, 3),
)
def test_selection_is_exactly_the_keys_that_fit(
    backend_factory: BackendFactory, used: list[int], tokens: int, requests: int
) -> None:
    clock = FakeClock(START)
    keys = [
        {"provider": "p", "key_id": i, "tokens_per_day": 1000, "requests_per_day": 5}
        for i in range(len(used))
    ]
    tracker = QuotaTracker(backend_factory.new(), keys=keys, clock=clock)
    for i, u in enumerate(used):
        tracker.log_usage("p", i, u, requests_count=i % 4)
    # Fits: every limit has room for the request, and no limit is exhausted.
    fitting = {
        i
        for i, u in enumerate(used)
        if u + tokens <= 1000 and u < 1000 and (i % 4) + requests <= 5 and (i % 4) < 5
    }
    selected = {int(c.key_id) for c in KeyRouter(tracker).select("p", tokens, requests)}
    assert selected == fitting
    if fitting:
        assert int(KeyRouter(tracker).acquire("p", tokens, requests).key_id) in fitting
    else:
        with pytest.raises(QuotaExhaustedError):
            KeyRouter(tracker).acquire("p", tokens, requests)


def test_disabling_by_hand_is_not_a_failure(tracker: QuotaTracker) -> None:
    tracker.disable_key("groq", 1)
    c = key1(tracker)
    assert c.disabled and c.health == 1.0
    assert [c.key_id for c in KeyRouter(tracker).select("groq")] == [2, 3]


def test_labels_reach_custom_strategies(backend: StorageBackend, clock: FakeClock) -> None:
    class Cheapest(ScoringStrategy):
        def score(self, candidate: Candidate) -> float:
            return 100 - float(candidate.labels.get("price", 0))

    keys = [{**k, "labels": {"price": str(10 - k["key_id"])}} for k in groq_keys()]
    tracker = QuotaTracker(backend, keys=keys, clock=clock)
    assert [c.key_id for c in KeyRouter(tracker, Cheapest()).select("groq")] == [3, 2, 1]
