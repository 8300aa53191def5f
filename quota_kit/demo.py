"""``quota-kit demo``: route a few hundred simulated requests over several keys
on the embedded diskcache backend, then print a per-key report.

Simulated time: a :class:`FakeClock` moves three seconds per request, so
per-minute limits and cooldowns play out as they would over a quarter of an
hour. The demo adds to the usage of its keys (groq 1-3, gemini 1) in whatever
store it is given; the CLI's default folder is wiped before each run."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from .clock import FakeClock, system_clock
from .errors import QuotaExhaustedError
from .failures import ProviderError
from .report import format_quota
from .router import KeyLease, KeyRouter
from .tracker import QuotaTracker

__all__ = ["DEMO_KEYS", "run_demo"]

DEMO_KEYS: list[dict[str, Any]] = [
    {"provider": "groq", "key_id": 1, "tokens_per_day": 14400, "requests_per_minute": 30},
    {"provider": "groq", "key_id": 2, "tokens_per_day": 14400, "requests_per_minute": 30},
    {"provider": "groq", "key_id": 3, "tokens_per_day": 14400, "requests_per_minute": 30},
    {
        "provider": "gemini",
        "key_id": 1,
        "tokens_per_day": 20000,
        "reset_timezone": "America/Los_Angeles",
    },
]

# The original specification's starting point: key 1 at 97 %, key 2 at 3 %,
# key 3 at 69 % of 14,400 tokens.
_ALREADY_USED = {"groq/1": 14000, "groq/2": 500, "groq/3": 10000, "gemini/1": 3000}


def run_demo(backend: str, requests: int = 300, seed: int = 7) -> str:
    """Run the simulation on ``backend`` and return the report text."""
    rng = random.Random(seed)
    lines: list[str] = []
    # Simulated time starts at the top of the next hour, so a run never crosses a
    # daily reset and every expiry lies in the future.
    start = system_clock().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    clock = FakeClock(start)
    with QuotaTracker(backend, keys=DEMO_KEYS, clock=clock) as tracker:
        for key in tracker.registered_keys():
            used = _ALREADY_USED[f"{key.provider}/{key.key_id}"]
            tracker.log_usage(key.provider, key.key_id, used)
        router = KeyRouter(tracker, strategy="weighted")

        def provider_call(lease: KeyLease) -> int:
            # A stand-in for the real API: now and then a 429, else a token count.
            if rng.random() < 0.02:
                raise ProviderError(429, retry_after=30)
            return rng.randint(20, 80)

        served = refused = failed = 0
        for _ in range(requests):
            clock.advance(seconds=3)
            provider = "gemini" if rng.random() < 0.2 else "groq"
            try:
                router.call(provider_call, provider, tokens=80, usage=lambda tokens: tokens)
                served += 1
            except QuotaExhaustedError:
                refused += 1
            except ProviderError:
                failed += 1
        lines.append(
            f"Routed {requests} simulated requests on {tracker.backend!r}: "
            f"{served} served, {refused} refused for lack of quota, {failed} failed.\n"
        )
        for key in tracker.registered_keys():
            quota = tracker.get_remaining_quota(key.provider, key.key_id)
            lines.append(format_quota(key.label, quota))
            lines.append("")
        best = router.select("groq", tokens=500)
        if best:
            lines.append(
                f"→ Smart choice for the next 500-token groq call: Key {best[0].key_id} "
                "(the best mix of remaining quota, health, latency and priority)"
            )
        else:
            lines.append("→ No groq key can take a 500-token call right now")
    return "\n".join(lines)
