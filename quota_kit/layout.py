"""Where each counter lives: bucket names, partitions and expiries. Pure code.

A key's counters are its own limits plus those of its per-model limits and of
its pool. They all share one partition, so one atomic batch covers them:

* a key outside any pool: partition ``k:<provider>/<key_id>``;
* a key in pool P: partition ``p:<P>``, shared with P's own counters.

Bucket names read ``<owner>|<window label>|<metric>``, for example
``k:groq/1|d20261203|tokens``, ``p:gemini-proj|d20261203|requests`` or
``k:groq/1#llama-3.1-8b|m29412345|tokens``. A new window always gets a new name,
so a window starts at zero exactly at its boundary, whatever the store's expiry.
A bucket expires a grace period after its window ends: one window length, and
at least an hour. So the previous window stays readable for reports, and a store
that expires keys by its own clock (Redis, diskcache, MongoDB's TTL monitor)
tolerates up to an hour of skew against the tracker's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from .backends.base import Bucket
from .models import ApiKey, Limits, Pool
from .windows import DailyReset, Window, minute_window

__all__ = ["Counter", "Scope", "bucket_for", "key_counters", "key_scopes", "partition_of"]

METRICS = ("tokens", "requests")
MIN_GRACE = 3600
WINDOWS = ("day", "minute")


@dataclass(frozen=True, slots=True)
class Scope:
    """One set of limits that applies to a key: its own, a model's, its pool's."""

    owner: str
    name: str
    limits: Limits
    reset: DailyReset


@dataclass(frozen=True, slots=True)
class Counter:
    """One bucket of one scope, with the limit that applies to it (if any)."""

    scope: Scope
    metric: str
    window: Window
    bucket: Bucket
    limit: int | None


def partition_of(key: ApiKey) -> str:
    return f"p:{key.pool}" if key.pool else f"k:{key.provider}/{key.key_id}"


def key_owner(key: ApiKey) -> str:
    return f"k:{key.provider}/{key.key_id}"


def grace(window: Window) -> int:
    """Seconds a bucket outlives its window: one window length, and at least an
    hour, so stores that expire by their own clock tolerate clock skew."""
    return max(MIN_GRACE, int((window.end - window.start).total_seconds()))


def bucket_for(partition: str, owner: str, window: Window, metric: str) -> Bucket:
    return Bucket(
        partition=partition,
        name=f"{owner}|{window.label}|{metric}",
        expires_at=int(window.end.timestamp()) + grace(window),
    )


def key_scopes(key: ApiKey, pool: Pool | None, model: str | None) -> list[Scope]:
    """The scopes whose limits a use of ``key`` (for ``model``) counts against."""
    owner = key_owner(key)
    scopes = [Scope(owner, "key", key, key.reset)]
    if model is not None and model in key.models:
        scopes.append(Scope(f"{owner}#{model}", f"model:{model}", key.models[model], key.reset))
    if pool is not None:
        pool_owner = f"p:{pool.pool_id}"
        scopes.append(Scope(pool_owner, f"pool:{pool.pool_id}", pool, pool.reset))
        if model is not None and model in pool.models:
            scopes.append(
                Scope(
                    f"{pool_owner}#{model}",
                    f"pool:{pool.pool_id}/model:{model}",
                    pool.models[model],
                    pool.reset,
                )
            )
    return scopes


def key_counters(
    key: ApiKey, pool: Pool | None, model: str | None, now: datetime
) -> Iterator[Counter]:
    """Every counter a use of ``key`` touches at ``now``.

    The key's own day counters are always kept, so usage is tracked even without
    limits; any other counter exists only where a limit is configured.
    """
    partition = partition_of(key)
    minute = minute_window(now)
    for scope in key_scopes(key, pool, model):
        day = scope.reset.window_at(now)
        for window_name, window in (("day", day), ("minute", minute)):
            for metric in METRICS:
                limit = scope.limits.limit(metric, window_name)
                if limit is None and not (scope.name == "key" and window_name == "day"):
                    continue
                yield Counter(
                    scope, metric, window, bucket_for(partition, scope.owner, window, metric), limit
                )
