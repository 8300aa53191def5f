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


def test_select_over_100_keys_is_one_round_trip(
    counted: tuple[QuotaTracker, dict[str, int]],
) -> None:
    from quota_kit import KeyRouter

    tracker, counts = counted
    router = KeyRouter(tracker)
    assert len(router.select("groq", tokens=100)) == 100
    assert _trips(counts) == 1


class CountingCollection:
    """Wraps a pymongo (or mongomock) collection; each method call is one request."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return str(self._inner.name)

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._inner, attr)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(attr)
            return target(*args, **kwargs)

        return call


@pytest.mark.mongo
def test_mongodb_calls_are_one_request_each() -> None:
    import mongomock

    from quota_kit.backends import MongoBackend

    collection = CountingCollection(mongomock.MongoClient().db.roundtrips)
    keys = [{"provider": "groq", "key_id": i, "tokens_per_day": 14400} for i in range(100)]
    tracker = QuotaTracker(MongoBackend(collection), keys=keys, clock=FakeClock(START))  # type: ignore[arg-type]
    tracker.log_usage("groq", 1, tokens_used=1)  # warm-up: first write to the partition
    collection.calls.clear()

    def requests() -> list[str]:
        made = list(collection.calls)
        collection.calls.clear()
        return made

    tracker.log_usage("groq", 1, tokens_used=100)
    assert requests() == ["find_one_and_update"]
    assert tracker.try_consume("groq", 1, 100)["admitted"]
    assert requests() == ["find_one_and_update"]
    assert tracker.get_remaining_quota("groq", 1)["used"] == 201
    assert requests() == ["find"]
    assert len(tracker.get_all_quotas()["groq"]) == 100
    assert requests() == ["find"]
    # A refused guarded write costs a second request, to report current values.
    assert not tracker.try_consume("groq", 1, 100_000)["admitted"]
    assert requests() == ["find_one_and_update", "find_one"]
