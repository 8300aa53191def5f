"""The in-memory backend stays bounded over months of use."""

from __future__ import annotations

from datetime import timedelta

from quota_kit import FakeClock, QuotaTracker
from quota_kit.backends import MemoryBackend
from tests.conftest import START


def test_expired_buckets_are_purged() -> None:
    clock = FakeClock(START)
    backend = MemoryBackend(now=lambda: clock().timestamp())
    tracker = QuotaTracker(
        backend,
        keys=[{"provider": "groq", "key_id": 1, "tokens_per_day": 100, "tokens_per_minute": 10}],
        clock=clock,
    )
    sizes = []
    for _ in range(90 * 24):  # 90 days, one write an hour
        tracker.log_usage("groq", 1, tokens_used=1)
        clock.advance(hours=1)
        sizes.append(len(backend))
    # Each write touches 3 buckets (day tokens, day requests, minute tokens); only
    # the current and previous windows survive, plus at most a minute of slack.
    assert max(sizes) <= 12
    today = clock().date()
    writes_today = sum((START + timedelta(hours=k)).date() == today for k in range(90 * 24))
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == writes_today


def test_purge_keeps_live_buckets() -> None:
    clock = FakeClock(START)
    backend = MemoryBackend(now=lambda: clock().timestamp())
    tracker = QuotaTracker(backend, clock=clock)
    tracker.log_usage("groq", 1, tokens_used=5)
    clock.advance(timedelta(hours=11, minutes=59))  # same day, long past the purge interval
    tracker.log_usage("groq", 2, tokens_used=1)  # triggers a purge
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 5
