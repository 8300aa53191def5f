"""Each public tracker call costs one round trip to Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from quota_kit import FakeClock, QuotaTracker
from tests.conftest import START
from tests.support.redis_server import counting_client

pytestmark = pytest.mark.redis


@pytest.fixture
def counted(redis_url: str) -> Iterator[tuple[QuotaTracker, dict[str, int]]]:
    from quota_kit.backends import RedisBackend

    client, counts = counting_client(redis_url)
    keys: list[dict[str, Any]] = [
        {
            "provider": "groq",
            "key_id": i,
            "tokens_per_day": 14400,
            "requests_per_day": 1000,
            "tokens_per_minute": 6000,
            "requests_per_minute": 30,
        }
        for i in range(100)
    ]
    tracker = QuotaTracker(
        RedisBackend(client, prefix=f"rt{uuid.uuid4().hex[:8]}:"),
        keys=keys,
        clock=FakeClock(START),
    )
    tracker.log_usage("groq", 0, tokens_used=1)  # warm-up: connect and load the script
    counts.update(sent=0, replies=0)
    yield tracker, counts
    tracker.close()


def _trips(counts: dict[str, int]) -> int:
    sent = counts["sent"]
    counts.update(sent=0, replies=0)
    return sent


def test_each_public_call_is_one_round_trip(counted: tuple[QuotaTracker, dict[str, int]]) -> None:
    tracker, counts = counted
    tracker.log_usage("groq", 1, tokens_used=100)
    assert _trips(counts) == 1
    assert tracker.try_consume("groq", 1, 100)["admitted"]
    assert _trips(counts) == 1
    assert not tracker.try_consume("groq", 1, 100_000)["admitted"]
    assert _trips(counts) == 1
    assert tracker.get_remaining_quota("groq", 1)["used"] == 200
    assert _trips(counts) == 1
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 200
    assert _trips(counts) == 1
    assert tracker.is_quota_available("groq", 1)
    assert _trips(counts) == 1


def test_get_all_quotas_for_100_keys_is_one_round_trip(
    counted: tuple[QuotaTracker, dict[str, int]],
) -> None:
    tracker, counts = counted
    result = tracker.get_all_quotas()
    assert _trips(counts) == 1
    assert len(result["groq"]) == 100
    assert result["groq"][0]["quota"]["used"] == 1
    config = {"groq": [{"id": i, "daily_limit": 500} for i in range(100)]}
    assert len(tracker.get_all_quotas(config)["groq"]) == 100
    assert _trips(counts) == 1
