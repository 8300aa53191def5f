"""``quota-kit demo``: simulate a few hundred requests over several keys on the
embedded diskcache backend, then print a per-key report."""

from __future__ import annotations

import random
from typing import Any

from .report import format_quota
from .tracker import QuotaTracker

__all__ = ["DEMO_KEYS", "run_demo"]

DEMO_KEYS: list[dict[str, Any]] = [
    {"provider": "groq", "key_id": 1, "tokens_per_day": 14400, "requests_per_day": 1000},
    {"provider": "groq", "key_id": 2, "tokens_per_day": 14400, "requests_per_day": 1000},
    {"provider": "groq", "key_id": 3, "tokens_per_day": 14400, "requests_per_day": 1000},
    {
        "provider": "gemini",
        "key_id": 1,
        "tokens_per_day": 20000,
        "reset_timezone": "America/Los_Angeles",
    },
]

# How often the simulation picks each key: key 1 is the busy one.
_WEIGHTS = [9, 1, 4, 2]


def run_demo(backend: str, requests: int = 300, seed: int = 7) -> str:
    """Run the simulation on ``backend`` and return the report text."""
    rng = random.Random(seed)
    lines: list[str] = []
    with QuotaTracker(backend, keys=DEMO_KEYS) as tracker:
        tracker.reset_daily_quotas()  # start every demo from zero
        admitted = refused = 0
        for _ in range(requests):
            spec = rng.choices(DEMO_KEYS, weights=_WEIGHTS)[0]
            tokens = rng.randint(30, 150)
            result = tracker.try_consume(spec["provider"], spec["key_id"], tokens)
            if result["admitted"]:
                admitted += 1
            else:
                refused += 1
        lines.append(
            f"Simulated {requests} requests on {tracker.backend!r}: "
            f"{admitted} admitted, {refused} refused.\n"
        )
        for key in tracker.registered_keys():
            quota = tracker.get_remaining_quota(key.provider, key.key_id)
            lines.append(format_quota(key.label, quota))
            lines.append("")
        best = max(
            tracker.registered_keys("groq"),
            key=lambda k: tracker.get_remaining_quota(k.provider, k.key_id)["remaining"],
        )
        lines.append(f"→ Best groq key now: Key {best.key_id} (it has the most quota left)")
    return "\n".join(lines)
