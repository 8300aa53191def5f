"""Many workers acquiring leases never over-admit, and settle to exact totals."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest

from quota_kit import FakeClock, KeyRouter, QuotaExhaustedError, QuotaTracker
from tests.conftest import START, BackendFactory

POOLS = [{"pool_id": "org", "tokens_per_day": 5000}]
KEYS: list[dict[str, Any]] = [
    {"provider": "groq", "key_id": 1, "tokens_per_day": 2000, "pool": "org"},
    {"provider": "groq", "key_id": 2, "tokens_per_day": 2000, "pool": "org"},
    {"provider": "groq", "key_id": 3, "tokens_per_day": 1500},
]
ESTIMATE = 100


def actual_cost(i: int, refunds: bool) -> int:
    """What call number ``i`` really cost: the estimate, or often less."""
    if not refunds or i % 3 == 0:
        return ESTIMATE
    return (i * 37) % ESTIMATE


def _worker(
    tracker: QuotaTracker, first: int, count: int, refunds: bool = True
) -> tuple[int, int, dict[str, int]]:
    router = KeyRouter(tracker, strategy="random-weighted")
    spent = leases = 0
    per_key: dict[str, int] = {}
    for i in range(first, first + count):
        try:
            with router.acquire("groq", tokens=ESTIMATE) as lease:
                cost = actual_cost(i, refunds)
                lease.report(tokens=cost, latency=0.01)
        except QuotaExhaustedError:
            continue
        spent += cost
        leases += 1
        per_key[str(lease.key_id)] = per_key.get(str(lease.key_id), 0) + cost
    return spent, leases, per_key


def _check(tracker: QuotaTracker, spent: int, per_key: dict[str, int]) -> None:
    usage = {str(k): tracker.get_today_usage("groq", k)["tokens_used"] for k in (1, 2, 3)}
    assert usage == {k: per_key.get(k, 0) for k in usage}
    assert sum(usage.values()) == spent
    assert usage["1"] <= 2000 and usage["2"] <= 2000 and usage["3"] <= 1500
    (pool,) = [q for q in tracker.candidates("groq")[0].quotas if q["scope"] == "pool:org"]
    assert pool["used"] == usage["1"] + usage["2"] <= 5000


def _merge(results: list[tuple[int, int, dict[str, int]]]) -> tuple[int, dict[str, int]]:
    per_key: dict[str, int] = {}
    for _, _, keys in results:
        for k, v in keys.items():
            per_key[k] = per_key.get(k, 0) + v
    return sum(r[0] for r in results), per_key


@pytest.mark.parametrize("refunds", [True, False], ids=["with-refunds", "no-refunds"])
def test_threads_never_over_admit_and_settle_exactly(
    backend_factory: BackendFactory, refunds: bool
) -> None:
    tracker = QuotaTracker(backend_factory.new(), pools=POOLS, keys=KEYS, clock=FakeClock(START))
    results: list[tuple[int, int, dict[str, int]]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def run(n: int) -> None:
        barrier.wait()
        out = _worker(tracker, n * 1000, 30, refunds)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    spent, per_key = _merge(results)
    _check(tracker, spent, per_key)
    # Demand (180 reservations of 100) is above supply (5,500 tokens). Without
    # refunds every key must end exactly full: admitted up to the limit, never past.
    if not refunds:
        assert per_key == {"1": 2000, "2": 2000, "3": 1500}
    assert sum(r[1] for r in results) < 180


def _process(url: str, n: int, refunds: bool, queue: Any) -> None:
    tracker = QuotaTracker(url, pools=POOLS, keys=KEYS, clock=FakeClock(START))
    queue.put(_worker(tracker, n * 1000, 40, refunds))
    tracker.close()


@pytest.mark.parametrize("refunds", [True, False], ids=["with-refunds", "no-refunds"])
def test_processes_never_over_admit_and_settle_exactly(
    shared_backend_factory: BackendFactory, refunds: bool
) -> None:
    backend, url = shared_backend_factory.new_with_url()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process, args=(url, n, refunds, queue)) for n in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    spent, per_key = _merge(results)
    _check(QuotaTracker(backend, pools=POOLS, keys=KEYS, clock=FakeClock(START)), spent, per_key)
    if not refunds:
        assert per_key == {"1": 2000, "2": 2000, "3": 1500}
    assert sum(r[1] for r in results) < 160
