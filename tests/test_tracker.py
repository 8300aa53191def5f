"""QuotaTracker behaviour on every backend: contract, windows, limits, events, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest

from quota_kit import (
    ConfigurationError,
    FakeClock,
    InvalidInputError,
    QuotaTracker,
    StorageBackend,
    ThresholdEvent,
)
from tests.conftest import START

GROQ = {"provider": "groq", "key_id": 1, "tokens_per_day": 14400, "requests_per_day": 1000}
MakeTracker = Callable[..., QuotaTracker]


@pytest.fixture
def make(backend: StorageBackend, clock: FakeClock) -> MakeTracker:
    def build(**kwargs: Any) -> QuotaTracker:
        kwargs.setdefault("clock", clock)
        return QuotaTracker(backend, **kwargs)

    return build


@pytest.fixture
def events() -> list[ThresholdEvent]:
    return []


# ------------------------------------------------------------------ contract


def test_log_usage_returns_day_totals_and_write_time(make: MakeTracker, clock: FakeClock) -> None:
    tracker = make()
    tracker.log_usage("groq", 1, tokens_used=120, requests_count=2)
    record = tracker.log_usage("groq", 1, tokens_used=30)
    assert record == {
        "tokens_used": 150,
        "requests_count": 3,
        "last_updated": "2031-03-04T12:00:00Z",
    }
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 150, "requests_count": 3}
    assert tracker.get_today_usage("groq", 2) == {"tokens_used": 0, "requests_count": 0}


def test_remaining_quota_fields(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ])
    tracker.log_usage("groq", 1, tokens_used=11234)
    quota = tracker.get_remaining_quota("groq", 1)
    assert quota == {
        "used": 11234,
        "limit": 14400,
        "remaining": 3166,
        "percentage": 78.0,
        "status": "warning",
        "resets_at": "2031-03-05T00:00:00Z",
        "metric": "tokens",
        "window": "day",
        "scope": "key",
    }
    requests = tracker.get_remaining_quota("groq", 1, metric="requests")
    assert (requests["used"], requests["limit"], requests["metric"]) == (1, 1000, "requests")
    json.dumps([quota, requests, tracker.get_all_quotas()])


def test_explicit_daily_limit_overrides_registration(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ])
    tracker.log_usage("groq", 1, tokens_used=500)
    assert tracker.get_remaining_quota("groq", 1, daily_limit=1000)["remaining"] == 500


def test_remaining_never_negative_and_status_exhausted(make: MakeTracker) -> None:
    tracker = make()
    tracker.log_usage("groq", 1, tokens_used=20000)
    quota = tracker.get_remaining_quota("groq", 1, 14400)
    assert (quota["remaining"], quota["status"], quota["percentage"]) == (0, "exhausted", 138.9)


def test_limit_of_zero_is_exhausted(make: MakeTracker) -> None:
    tracker = make()
    assert tracker.get_remaining_quota("groq", 1, 0)["status"] == "exhausted"


def test_unknown_limit_is_a_clear_error(make: MakeTracker) -> None:
    tracker = make()
    with pytest.raises(ConfigurationError, match="no daily tokens limit is known for groq Key 1"):
        tracker.get_remaining_quota("groq", 1)


def test_int_and_str_key_ids_name_the_same_key(make: MakeTracker) -> None:
    tracker = make()
    tracker.log_usage("groq", 7, tokens_used=5)
    tracker.log_usage("groq", "7", tokens_used=6)
    assert tracker.get_today_usage("groq", 7)["tokens_used"] == 11


def test_is_quota_available_writes_nothing(make: MakeTracker, backend: StorageBackend) -> None:
    tracker = make(keys=[GROQ])
    tracker.log_usage("groq", 1, tokens_used=14300)
    before = tracker.get_today_usage("groq", 1)
    assert tracker.is_quota_available("groq", 1, required=100)
    assert not tracker.is_quota_available("groq", 1, required=101)
    assert tracker.get_today_usage("groq", 1) == before


def test_is_quota_available_checks_minute_limits_too(make: MakeTracker) -> None:
    tracker = make(keys=[{**GROQ, "tokens_per_minute": 600}])
    tracker.log_usage("groq", 1, tokens_used=550)
    assert not tracker.is_quota_available("groq", 1, required=100)
    assert tracker.is_quota_available("groq", 1, daily_limit=14400, required=100)


def test_get_all_quotas_keeps_the_seed_shape(make: MakeTracker) -> None:
    tracker = make()
    tracker.log_usage("groq", 1, tokens_used=11234)
    config = {
        "groq": [
            {"id": 1, "priority": 1, "daily_limit": 14400},
            {"id": 2, "priority": 2, "daily_limit": 14400},
        ],
        "gemini": [{"id": "a", "daily_limit": 1000, "metric": "requests"}],
    }
    result = tracker.get_all_quotas(config)
    assert list(result) == ["groq", "gemini"]
    first = result["groq"][0]
    assert {k: first[k] for k in ("id", "priority", "daily_limit")} == config["groq"][0]
    assert first["quota"]["used"] == 11234 and first["quota"]["status"] == "warning"
    assert result["groq"][1]["quota"]["used"] == 0
    assert result["gemini"][0]["quota"]["metric"] == "requests"


def test_get_all_quotas_defaults_to_registered_keys(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ, {"provider": "groq", "key_id": 2}])
    result = tracker.get_all_quotas()
    assert [entry["id"] for entry in result["groq"]] == [1, 2]
    assert result["groq"][0]["quota"]["limit"] == 14400
    assert result["groq"][1]["quota"] is None


def test_reset_daily_quotas(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ, {**GROQ, "key_id": 2}])
    tracker.log_usage("groq", 1, tokens_used=10)
    tracker.log_usage("groq", 2, tokens_used=20)
    tracker.reset_daily_quotas("groq", 1)
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 0
    assert tracker.get_today_usage("groq", 2)["tokens_used"] == 20
    tracker.reset_daily_quotas()
    assert tracker.get_today_usage("groq", 2)["tokens_used"] == 0


# ------------------------------------------------------------------- windows


def test_day_resets_at_midnight_utc_exactly(make: MakeTracker, clock: FakeClock) -> None:
    tracker = make(keys=[GROQ])
    clock.set(datetime(2031, 3, 4, 23, 59, 59, 999999, tzinfo=timezone.utc))
    tracker.log_usage("groq", 1, tokens_used=700)
    assert tracker.get_remaining_quota("groq", 1)["resets_at"] == "2031-03-05T00:00:00Z"
    clock.set(datetime(2031, 3, 5, tzinfo=timezone.utc))
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 0, "requests_count": 0}
    assert tracker.get_remaining_quota("groq", 1)["resets_at"] == "2031-03-06T00:00:00Z"


def test_pacific_reset_across_dst(make: MakeTracker, clock: FakeClock) -> None:
    # 2031-03-09 is the spring-forward day in America/Los_Angeles: a 23-hour day.
    key = {
        "provider": "gemini",
        "key_id": 1,
        "tokens_per_day": 1000,
        "reset_timezone": "America/Los_Angeles",
    }
    tracker = make(keys=[key])
    clock.set(datetime(2031, 3, 9, 8, 0, tzinfo=timezone.utc))  # 00:00 PST
    tracker.log_usage("gemini", 1, tokens_used=10)
    quota = tracker.get_remaining_quota("gemini", 1)
    assert quota["resets_at"] == "2031-03-10T07:00:00Z"  # 00:00 PDT, 23 h later
    clock.set(datetime(2031, 3, 10, 6, 59, 59, tzinfo=timezone.utc))
    assert tracker.get_today_usage("gemini", 1)["tokens_used"] == 10
    clock.set(datetime(2031, 3, 10, 7, 0, tzinfo=timezone.utc))
    assert tracker.get_today_usage("gemini", 1)["tokens_used"] == 0
    # Fall back: 2031-11-02 lasts 25 hours.
    clock.set(datetime(2031, 11, 2, 12, tzinfo=timezone.utc))
    assert tracker.get_remaining_quota("gemini", 1)["resets_at"] == "2031-11-03T08:00:00Z"


def test_custom_reset_time(make: MakeTracker, clock: FakeClock) -> None:
    tracker = make(reset_time=time(6, 30), reset_timezone="Europe/Berlin")
    clock.set(datetime(2031, 3, 4, 5, 29, tzinfo=timezone.utc))  # 06:29 in Berlin
    tracker.log_usage("x", 1, tokens_used=3)
    clock.set(datetime(2031, 3, 4, 5, 30, tzinfo=timezone.utc))
    assert tracker.get_today_usage("x", 1)["tokens_used"] == 0
    assert tracker.get_remaining_quota("x", 1, 10)["resets_at"] == "2031-03-05T05:30:00Z"


def test_minute_limits_reset_on_the_calendar_minute(make: MakeTracker, clock: FakeClock) -> None:
    tracker = make(keys=[{**GROQ, "requests_per_minute": 2}])
    clock.set(START + timedelta(seconds=58))
    assert tracker.try_consume("groq", 1, 1)["admitted"]
    assert tracker.try_consume("groq", 1, 1)["admitted"]
    refused = tracker.try_consume("groq", 1, 1)
    assert not refused["admitted"]
    assert [(q["metric"], q["window"]) for q in refused["refused_by"]] == [("requests", "minute")]
    assert refused["refused_by"][0]["resets_at"] == "2031-03-04T12:01:00Z"
    clock.set(START + timedelta(minutes=1))
    assert tracker.try_consume("groq", 1, 1)["admitted"]
    assert tracker.get_today_usage("groq", 1)["requests_count"] == 3


# ----------------------------------------------------------------- try_consume


def test_try_consume_admits_exactly_up_to_the_limit(make: MakeTracker) -> None:
    tracker = make(keys=[{**GROQ, "tokens_per_day": 1000}])
    assert tracker.try_consume("groq", 1, 600)["admitted"]
    result = tracker.try_consume("groq", 1, 401)
    assert not result["admitted"]
    assert result["tokens_used"] == 600 and result["refused_by"][0]["remaining"] == 400
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 600, "requests_count": 1}
    assert tracker.try_consume("groq", 1, 400)["admitted"]
    assert tracker.get_remaining_quota("groq", 1)["remaining"] == 0


def test_try_consume_refusal_writes_nothing_anywhere(make: MakeTracker) -> None:
    tracker = make(
        pools=[{"pool_id": "org", "tokens_per_day": 5000}],
        keys=[{**GROQ, "pool": "org", "requests_per_day": 1}],
    )
    assert tracker.try_consume("groq", 1, 100)["admitted"]
    result = tracker.try_consume("groq", 1, 100)
    assert not result["admitted"]
    assert [q["scope"] for q in result["refused_by"]] == ["key"]
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 100, "requests_count": 1}
    pool = [q for q in result["quotas"] if q["scope"] == "pool:org" and q["metric"] == "tokens"]
    assert pool[0]["used"] == 100


def test_pool_limit_is_shared_and_binding(make: MakeTracker) -> None:
    tracker = make(
        pools=[{"pool_id": "proj", "requests_per_day": 3, "reset_timezone": "America/Los_Angeles"}],
        keys=[
            {"provider": "gemini", "key_id": 1, "requests_per_day": 10, "pool": "proj"},
            {"provider": "gemini", "key_id": 2, "requests_per_day": 10, "pool": "proj"},
        ],
    )
    admitted = [tracker.try_consume("gemini", k, 0)["admitted"] for k in (1, 2, 1, 2)]
    assert admitted == [True, True, True, False]
    quota = tracker.get_remaining_quota("gemini", 2, metric="requests")
    assert (quota["scope"], quota["remaining"], quota["used"]) == ("pool:proj", 0, 3)
    assert not tracker.is_quota_available("gemini", 2, required=1, metric="requests")


def test_model_scoped_limits(make: MakeTracker) -> None:
    key = {**GROQ, "models": {"llama-3.1-8b": {"tokens_per_minute": 100}}}
    tracker = make(keys=[key])
    assert tracker.try_consume("groq", 1, 80, model="llama-3.1-8b")["admitted"]
    refused = tracker.try_consume("groq", 1, 30, model="llama-3.1-8b")
    assert [q["scope"] for q in refused["refused_by"]] == ["model:llama-3.1-8b"]
    # Another model of the same key is not bound by that limit.
    assert tracker.try_consume("groq", 1, 30, model="other-model")["admitted"]
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 110


# -------------------------------------------------------------------- events


def test_each_threshold_fires_once_and_logs(
    make: MakeTracker, events: list[ThresholdEvent], caplog: pytest.LogCaptureFixture
) -> None:
    tracker = make(keys=[GROQ], listeners=[events.append])
    caplog.set_level(logging.WARNING, logger="quota_kit")
    for _ in range(20):
        tracker.log_usage("groq", 1, tokens_used=1000)
    assert [(e.level, e.used) for e in events if e.metric == "tokens"] == [
        ("warning", 11000),
        ("critical", 13000),
        ("exhausted", 15000),
    ]
    levels = [r.levelno for r in caplog.records if "tokens quota used" in r.getMessage()]
    assert levels == [logging.WARNING, logging.ERROR, logging.ERROR]
    assert "groq Key 1: 76.4% of daily tokens quota used" in caplog.records[0].getMessage()


def test_threshold_exactly_reached_fires(make: MakeTracker, events: list[ThresholdEvent]) -> None:
    tracker = make(keys=[GROQ], listeners=[events.append])
    tracker.log_usage("groq", 1, tokens_used=10799)
    assert events == []
    tracker.log_usage("groq", 1, tokens_used=1)
    assert [(e.level, e.threshold, e.used, e.percentage) for e in events] == [
        ("warning", 75.0, 10800, 75.0)
    ]
    assert events[0].to_dict()["resets_at"] == "2031-03-05T00:00:00Z"


def test_thresholds_rearm_in_the_next_window(
    make: MakeTracker, clock: FakeClock, events: list[ThresholdEvent]
) -> None:
    tracker = make(keys=[GROQ], listeners=[events.append])
    tracker.log_usage("groq", 1, tokens_used=11000)
    clock.advance(days=1)
    tracker.log_usage("groq", 1, tokens_used=11000)
    assert [e.level for e in events] == ["warning", "warning"]


def test_custom_thresholds(make: MakeTracker, events: list[ThresholdEvent]) -> None:
    tracker = make(
        keys=[GROQ], thresholds={"warning": 50, "critical": 80}, listeners=[events.append]
    )
    tracker.log_usage("groq", 1, tokens_used=7200)
    assert tracker.get_remaining_quota("groq", 1)["status"] == "warning"
    assert [e.level for e in events] == ["warning"]


def test_failing_listener_does_not_lose_the_write(
    make: MakeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: ThresholdEvent) -> None:
        raise RuntimeError("boom")

    tracker = make(keys=[GROQ], listeners=[broken])
    assert tracker.log_usage("groq", 1, tokens_used=14400)["tokens_used"] == 14400
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 14400
    assert any("listener" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------- bad input

BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("negative tokens", {"tokens_used": -1}, "must not be negative"),
    ("float tokens", {"tokens_used": 1.5}, "must be an integer"),
    ("nan tokens", {"tokens_used": float("nan")}, "NaN"),
    ("bool tokens", {"tokens_used": True}, "must be an integer"),
    ("str tokens", {"tokens_used": "10"}, "must be an integer"),
    ("huge tokens", {"tokens_used": 2**53 + 1}, "at most 2\\*\\*53"),
    ("negative requests", {"requests_count": -3}, "must not be negative"),
    ("empty provider", {"provider": ""}, "invalid provider"),
    ("separator in provider", {"provider": "gr:oq"}, "invalid provider"),
    ("brace in key id", {"key_id": "a{b}"}, "invalid key_id"),
    ("control char in key id", {"key_id": "a\nb"}, "invalid key_id"),
    ("empty key id", {"key_id": ""}, "invalid key_id"),
    ("none key id", {"key_id": None}, "must be a str or an int"),
    ("bool key id", {"key_id": False}, "must be a str or an int"),
    ("bad model", {"model": "a b"}, "invalid model"),
]


@pytest.mark.parametrize(("case", "override", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_refused_before_any_write(
    make: MakeTracker, case: str, override: dict[str, Any], message: str
) -> None:
    tracker = make(keys=[GROQ])
    args: dict[str, Any] = {"provider": "groq", "key_id": 1, "tokens_used": 10, **override}
    with pytest.raises(InvalidInputError, match=message):
        tracker.log_usage(**args)
    consume = {
        ("tokens" if k == "tokens_used" else "requests" if k == "requests_count" else k): v
        for k, v in args.items()
    }
    with pytest.raises(InvalidInputError, match=message):
        tracker.try_consume(**consume)
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 0, "requests_count": 0}


def test_unknown_metric(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ])
    with pytest.raises(InvalidInputError, match="invalid metric 'bytes'"):
        tracker.get_remaining_quota("groq", 1, metric="bytes")
    with pytest.raises(InvalidInputError, match="invalid metric"):
        tracker.is_quota_available("groq", 1, metric="bytes")


def test_naive_clock_is_refused_before_any_write(backend: StorageBackend) -> None:
    tracker = QuotaTracker(backend, clock=lambda: datetime(2031, 1, 1))
    with pytest.raises(InvalidInputError, match="naive datetime"):
        tracker.log_usage("groq", 1, tokens_used=5)
    tracker.clock = lambda: START
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 0


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"provider": "groq", "key_id": 1, "tokens_per_day": -5}, "greater than or equal to 0"),
        ({"provider": "groq", "key_id": 1, "reset_timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"provider": "groq", "key_id": 1, "pool": "nope"}, "not registered"),
        ({"provider": "groq", "key_id": 1, "tokens_per_dya": 5}, "tokens_per_dya"),
        ({"provider": "gr oq", "key_id": 1}, "invalid provider"),
    ],
)
def test_bad_key_config(make: MakeTracker, key: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make(keys=[key])


def test_bad_thresholds() -> None:
    with pytest.raises(ConfigurationError, match="warning < critical"):
        QuotaTracker(thresholds={"warning": 95, "critical": 90})


# ------------------------------------------------------- adjustments, outcomes


def test_adjust_usage_moves_counters_both_ways(make: MakeTracker) -> None:
    tracker = make(keys=[{**GROQ, "tokens_per_minute": 5000}])
    tracker.try_consume("groq", 1, 1000)
    assert tracker.adjust_usage("groq", 1, -400)["tokens_used"] == 600
    assert tracker.adjust_usage("groq", 1, 50, requests=2)["requests_count"] == 3
    minute = [q for q in tracker.try_consume("groq", 1, 0)["quotas"] if q["window"] == "minute"]
    assert [q["used"] for q in minute if q["metric"] == "tokens"] == [650]
    with pytest.raises(InvalidInputError, match="at most 2"):
        tracker.adjust_usage("groq", 1, -(2**53) - 1)


def test_record_outcome(make: MakeTracker, clock: FakeClock) -> None:
    from quota_kit import Outcome

    tracker = make(keys=[GROQ])
    assert tracker.record_outcome("groq", 1, Outcome(ok=True, latency=0.4)) is None
    assert tracker.record_outcome("groq", 1, Outcome(ok=False, latency=0.2)) is None
    (c,) = tracker.candidates("groq")
    assert (c.health, c.latency) == (0.5, pytest.approx(0.3))
    until = tracker.record_outcome("groq", 1, Outcome(ok=False, status_code=429, retry_after=5))
    assert until == clock() + timedelta(seconds=5)
    assert tracker.candidates("groq")[0].cooldown_until == until


def test_health_forgets_old_outcomes(make: MakeTracker, clock: FakeClock) -> None:
    from quota_kit import Outcome

    tracker = make(keys=[GROQ])
    tracker.record_outcome("groq", 1, Outcome(ok=False, latency=2.0))
    clock.advance(minutes=4)
    tracker.record_outcome("groq", 1, Outcome(ok=True, latency=0.5))
    mid = tracker.candidates("groq")[0]
    assert 0 < mid.health < 1 and mid.latency is not None
    clock.advance(minutes=11)  # beyond the sliding five minutes of both
    late = tracker.candidates("groq")[0]
    assert (late.health, late.latency) == (1.0, None)


def test_disable_and_enable_by_hand(make: MakeTracker) -> None:
    tracker = make(keys=[GROQ])
    tracker.disable_key("groq", 1)
    assert tracker.candidates("groq")[0].disabled
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 0, "requests_count": 0}
    tracker.enable_key("groq", 1)
    assert not tracker.candidates("groq")[0].disabled


def test_get_all_quotas_defaults_include_pool_limits(make: MakeTracker) -> None:
    tracker = make(
        pools=[{"pool_id": "org", "tokens_per_day": 1000}],
        keys=[{**GROQ, "pool": "org"}, {**GROQ, "key_id": 2, "pool": "org"}],
    )
    tracker.log_usage("groq", 1, tokens_used=900)
    quotas = [entry["quota"] for entry in tracker.get_all_quotas()["groq"]]
    assert [(q["scope"], q["remaining"]) for q in quotas] == [("pool:org", 100), ("pool:org", 100)]


def test_resetting_one_pooled_key_keeps_the_pool(make: MakeTracker) -> None:
    tracker = make(
        pools=[{"pool_id": "org", "tokens_per_day": 1000}],
        keys=[{**GROQ, "pool": "org"}, {**GROQ, "key_id": 2, "pool": "org"}],
    )
    tracker.log_usage("groq", 1, tokens_used=300)
    tracker.log_usage("groq", 2, tokens_used=200)
    tracker.reset_daily_quotas("groq", 1)
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 0
    assert tracker.get_remaining_quota("groq", 2)["remaining"] == 500  # pool still counts both
    tracker.reset_daily_quotas()
    assert tracker.get_remaining_quota("groq", 2)["remaining"] == 1000


def test_absurd_retry_after_is_capped_at_a_week(make: MakeTracker, clock: FakeClock) -> None:
    from quota_kit import Outcome

    tracker = make(keys=[GROQ])
    until = tracker.record_outcome("groq", 1, Outcome(ok=False, status_code=429, retry_after=1e12))
    assert until == clock() + timedelta(days=7)
