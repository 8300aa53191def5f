"""Throughput of the tracker's hot paths, as ratios to a plain backend call.

Run: ``python benchmarks/bench_tracker.py [--backend URL] [--n 2000]``

Each line reports calls per second and the ratio to one raw ``backend.read`` of
two buckets (the floor any tracker call pays), so numbers compare across
machines. ``get_all_quotas`` is reported per key, for 100 keys.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from quota_kit import KeyRouter, QuotaTracker
from quota_kit.backends.base import Bucket


def rate(fn: Callable[[], object], n: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="memory://")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    keys = [
        {"provider": "groq", "key_id": i, "tokens_per_day": 10**12, "requests_per_minute": 10**9}
        for i in range(100)
    ]
    tracker = QuotaTracker(args.backend, keys=keys)
    router = KeyRouter(tracker)
    buckets = [Bucket("p", "bench|a", int(time.time()) + 60), Bucket("p", "bench|b", 0)]
    floor = rate(lambda: tracker.backend.read(buckets), args.n)
    cases: dict[str, Callable[[], object]] = {
        "log_usage": lambda: tracker.log_usage("groq", 1, 10),
        "try_consume": lambda: tracker.try_consume("groq", 1, 10),
        "get_remaining_quota": lambda: tracker.get_remaining_quota("groq", 1),
        "get_all_quotas (100 keys)": tracker.get_all_quotas,
        "router.select (100 keys)": lambda: router.select("groq", tokens=10),
    }
    print(f"backend {tracker.backend!r}; raw read floor: {floor:,.0f} calls/s")
    for name, fn in cases.items():
        n = args.n if "100 keys" not in name else max(20, args.n // 50)
        r = rate(fn, n)
        print(f"{name:28s} {r:12,.0f} calls/s   {floor / r:6.1f}x the raw read")
    tracker.close()


if __name__ == "__main__":
    main()
