"""No lost updates and no over-admission under concurrency.

Threads run on every backend; separate processes run on the stores that are
shared between processes (diskcache, Redis, a real MongoDB).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable

from quota_kit import FakeClock, QuotaTracker, ThresholdEvent
from tests.conftest import START, BackendFactory

KEY = {"provider": "groq", "key_id": 1, "tokens_per_day": 1000, "requests_per_day": 10_000}


def _threads(count: int, target: Callable[[], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_no_lost_updates_with_threads(backend_factory: BackendFactory) -> None:
    tracker = QuotaTracker(backend_factory.new(), clock=FakeClock(START))

    def work() -> None:
        for _ in range(40):
            tracker.log_usage("groq", 1, tokens_used=3)

    _threads(8, work)
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 960, "requests_count": 320}


def test_try_consume_admits_exactly_the_limit_with_threads(
    backend_factory: BackendFactory,
) -> None:
    events: list[ThresholdEvent] = []
    tracker = QuotaTracker(
        backend_factory.new(), keys=[KEY], clock=FakeClock(START), listeners=[events.append]
    )
    admitted: list[bool] = []

    def work() -> None:
        for _ in range(30):
            admitted.append(tracker.try_consume("groq", 1, 7)["admitted"])

    _threads(8, work)
    # 240 attempts of 7 tokens against 1000: exactly 142 fit (994 tokens).
    assert admitted.count(True) == 142
    assert tracker.get_today_usage("groq", 1) == {"tokens_used": 994, "requests_count": 142}
    token_levels = sorted(e.level for e in events if e.metric == "tokens")
    assert token_levels == ["critical", "warning"]


def _process_worker(url: str, attempts: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    events: list[ThresholdEvent] = []
    tracker = QuotaTracker(url, keys=[KEY], clock=FakeClock(START), listeners=[events.append])
    admitted = sum(tracker.try_consume("groq", 1, 7)["admitted"] for _ in range(attempts))
    for _ in range(attempts):
        tracker.log_usage("groq", 2, tokens_used=1)
    tracker.close()
    queue.put((admitted, [e.level for e in events]))


def test_processes_share_counts_exactly(shared_backend_factory: BackendFactory) -> None:
    backend, url = shared_backend_factory.new_with_url()
    assert url is not None
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(url, 60, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    tracker = QuotaTracker(backend, keys=[KEY], clock=FakeClock(START))
    assert sum(admitted for admitted, _ in results) == 142
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 994
    assert tracker.get_today_usage("groq", 2) == {"tokens_used": 240, "requests_count": 240}
    levels = sorted(level for _, lv in results for level in lv)
    assert levels == ["critical", "warning"]  # once each, across all processes
