"""QuotaTracker: the public face of quota_kit.

The tracker holds all the policy (keys, limits, windows, thresholds, events)
and talks to a :class:`~quota_kit.backends.StorageBackend` that only counts.
Every public call is one backend call, hence one round trip on networked stores.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from .backends import StorageBackend, backend_from_url
from .backends.base import Bucket, Op
from .clock import Clock, checked_now, system_clock
from .errors import ConfigurationError, InvalidInputError
from .health import (
    HealthPolicy,
    Outcome,
    clear_buckets,
    cooldown_op,
    disable_op,
    health_buckets,
    outcome_ops,
    read_health,
)
from .layout import Counter, key_counters
from .models import ApiKey, Pool, Thresholds
from .results import ConsumeResult, QuotaInfo, ThresholdEvent, TodayUsage, UsageRecord
from .scoring.base import Candidate
from .status import crossed_levels, percentage, status_for
from .validation import check_amount, check_id, check_metric, check_model
from .windows import DailyReset, to_iso

__all__ = ["Listener", "QuotaTracker", "get_quota_tracker", "set_quota_tracker"]

logger = logging.getLogger("quota_kit")

_ADJECTIVE = {"day": "daily", "minute": "per-minute"}

Listener = Callable[[ThresholdEvent], None]
"""Called with each :class:`ThresholdEvent`, in the thread that made the write."""


def _coerce(model: type[Any], value: Any, what: str) -> Any:
    if isinstance(value, model):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{what} must be a {model.__name__} or a dict, got {value!r}")
    try:
        return model.model_validate(dict(value))
    except ValidationError as exc:
        raise ConfigurationError(f"invalid {what}: {exc}") from exc


class QuotaTracker:
    """Tracks each key's usage per calendar window, atomically, in a shared store.

    :param backend: a URL (``"memory://"``, ``"diskcache:///var/lib/qk"``,
        ``"redis://localhost:6379/0"``, ``"mongodb://host/db"``) or a backend instance.
    :param keys: :class:`ApiKey` models or dicts registering keys with their limits.
    :param pools: :class:`Pool` models or dicts for limits shared by several keys.
    :param clock: zero-argument callable returning an aware datetime.
    :param thresholds: status thresholds, 75/90/100 % by default.
    :param reset_timezone: IANA zone of the daily reset for unregistered keys.
    :param reset_time: wall-clock reset time for unregistered keys.
    :param listeners: callables receiving each :class:`ThresholdEvent`.
    :param health_policy: how rate-limited keys cool down (:class:`HealthPolicy`).

    >>> tracker = QuotaTracker(keys=[{"provider": "groq", "key_id": 1, "tokens_per_day": 14400}])
    >>> tracker.log_usage("groq", 1, tokens_used=10800)["tokens_used"]
    10800
    >>> tracker.get_remaining_quota("groq", 1)["status"]
    'warning'
    """

    def __init__(
        self,
        backend: str | StorageBackend = "memory://",
        *,
        keys: Iterable[ApiKey | Mapping[str, Any]] = (),
        pools: Iterable[Pool | Mapping[str, Any]] = (),
        clock: Clock = system_clock,
        thresholds: Thresholds | Mapping[str, float] | None = None,
        reset_timezone: str = "UTC",
        reset_time: time = time(0, 0),
        listeners: Iterable[Listener] = (),
        health_policy: HealthPolicy | Mapping[str, float] | None = None,
    ) -> None:
        if isinstance(backend, str):
            backend = backend_from_url(backend)
        elif not isinstance(backend, StorageBackend):
            raise ConfigurationError(
                f"backend must be a URL or a StorageBackend, got {type(backend).__name__}"
            )
        self.backend: StorageBackend = backend
        if not callable(clock):
            raise ConfigurationError("clock must be a zero-argument callable")
        self.clock = clock
        self.thresholds: Thresholds = (
            Thresholds() if thresholds is None else _coerce(Thresholds, thresholds, "thresholds")
        )
        try:
            self.default_reset = DailyReset(reset_timezone, reset_time)
        except TypeError as exc:
            raise ConfigurationError(f"invalid reset time: {exc}") from exc
        self.health_policy: HealthPolicy = (
            HealthPolicy()
            if health_policy is None
            else _coerce(HealthPolicy, health_policy, "health_policy")
        )
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], ApiKey] = {}
        self._pools: dict[str, Pool] = {}
        self._listeners: list[Listener] = list(listeners)
        for pool in pools:
            self.register_pool(pool)
        for key in keys:
            self.register_key(key)

    # ----------------------------------------------------------------- registry

    def register_pool(self, pool: Pool | Mapping[str, Any]) -> Pool:
        """Register (or replace) a pool of shared limits."""
        model: Pool = _coerce(Pool, pool, "pool")
        with self._lock:
            self._pools[model.pool_id] = model
        return model

    def register_key(self, key: ApiKey | Mapping[str, Any]) -> ApiKey:
        """Register (or replace) a key with its limits. Its pool must be registered."""
        model: ApiKey = _coerce(ApiKey, key, "key")
        if model.pool is not None and model.pool not in self._pools:
            raise ConfigurationError(
                f"{model.label} names pool {model.pool!r}, which is not registered; "
                "register the pool first"
            )
        with self._lock:
            self._keys[model.ident] = model
        return model

    def registered_keys(self, provider: str | None = None) -> list[ApiKey]:
        """Registered keys, optionally of one provider, in registration order."""
        with self._lock:
            keys = list(self._keys.values())
        return [k for k in keys if provider is None or k.provider == provider]

    def pools(self) -> list[Pool]:
        return list(self._pools.values())

    def get_key(self, provider: str, key_id: int | str) -> ApiKey:
        """The registered key, or a limit-less one with the default reset policy."""
        provider = check_id(provider, "provider")
        ident = check_id(key_id, "key_id")
        key = self._keys.get((provider, ident))
        if key is None:
            key = ApiKey.model_construct(
                provider=provider,
                key_id=key_id,
                reset_timezone=self.default_reset.timezone,
                reset_time=self.default_reset.time,
            )
        return key

    def pool_of(self, key: ApiKey) -> Pool | None:
        return None if key.pool is None else self._pools[key.pool]

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every threshold crossing from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # ------------------------------------------------------------- public calls

    def now(self) -> datetime:
        """The clock's current time in UTC; refuses a naive datetime."""
        return checked_now(self.clock)

    def log_usage(
        self,
        provider: str,
        key_id: int | str,
        tokens_used: int,
        requests_count: int = 1,
        *,
        model: str | None = None,
    ) -> UsageRecord:
        """Record usage unconditionally; return today's totals after the write.

        Limits are not enforced here (use :meth:`try_consume` for that), but a
        write that crosses a threshold logs and notifies listeners once.
        """
        key, tokens, requests, now = self._prepare(
            provider,
            key_id,
            (tokens_used, "tokens_used"),
            (requests_count, "requests_count"),
            model,
        )
        counters = list(key_counters(key, self.pool_of(key), model, now))
        ops = _usage_ops(counters, tokens, requests)
        _, values = self.backend.apply(ops)
        self._announce(key, counters, ops, values, now)
        return UsageRecord(
            tokens_used=values[0], requests_count=values[1], last_updated=to_iso(now)
        )

    def try_consume(
        self,
        provider: str,
        key_id: int | str,
        tokens: int,
        requests: int = 1,
        *,
        model: str | None = None,
    ) -> ConsumeResult:
        """Record ``tokens`` and ``requests`` only if every limit of the key (its own,
        its model's and its pool's, per day and per minute) still fits them.

        The check and the write are one atomic step in the store, so under any
        concurrency no limit is ever exceeded and the limit is reached exactly.
        A refusal writes nothing.
        """
        key, tokens, requests, now = self._prepare(
            provider, key_id, (tokens, "tokens"), (requests, "requests"), model
        )
        counters = list(key_counters(key, self.pool_of(key), model, now))
        ops = _usage_ops(counters, tokens, requests, guarded=True)
        admitted, values = self.backend.apply(ops)
        if admitted:
            self._announce(key, counters, ops, values, now)
        quotas: list[QuotaInfo] = []
        refused: list[QuotaInfo] = []
        for counter, op, value in zip(counters, ops, values, strict=False):
            if counter.limit is None:
                continue
            info = self._info(counter, value, counter.limit)
            quotas.append(info)
            if not admitted and value + op.amount > counter.limit:
                refused.append(info)
        return ConsumeResult(
            admitted=admitted,
            tokens_used=values[0],
            requests_count=values[1],
            last_updated=to_iso(now),
            quotas=quotas,
            refused_by=refused,
        )

    def get_today_usage(self, provider: str, key_id: int | str) -> TodayUsage:
        """Tokens and requests used by the key in its current day window."""
        key = self.get_key(provider, key_id)
        counters = self._key_day_counters(key, self.now())
        tokens, requests = self.backend.read([c.bucket for c in counters])
        return TodayUsage(tokens_used=tokens, requests_count=requests)

    def get_remaining_quota(
        self,
        provider: str,
        key_id: int | str,
        daily_limit: int | None = None,
        metric: str = "tokens",
    ) -> QuotaInfo:
        """The key's daily quota for ``metric``.

        With ``daily_limit``, that limit is applied to the key's own usage, as in
        the original API. Without it, the registered limits are used; when the key
        belongs to a pool, the result is whichever of the key's and the pool's
        daily quotas has the least remaining (``scope`` says which).
        """
        key = self.get_key(provider, key_id)
        candidates = self._day_candidates(key, check_metric(metric), daily_limit, self.now())
        values = self.backend.read([c.bucket for c, _ in candidates])
        return self._binding(candidates, values)

    def is_quota_available(
        self,
        provider: str,
        key_id: int | str,
        daily_limit: int | None = None,
        required: int = 100,
        metric: str = "tokens",
    ) -> bool:
        """Whether ``required`` more of ``metric`` fits. Writes nothing.

        With ``daily_limit``, only that daily limit is checked. Without it, every
        registered limit of the metric is: day and minute, key, pool.
        """
        key = self.get_key(provider, key_id)
        metric = check_metric(metric)
        required = check_amount(required, "required")
        now = self.now()
        if daily_limit is not None:
            candidates = self._day_candidates(key, metric, daily_limit, now)
        else:
            candidates = [
                (c, c.limit)
                for c in key_counters(key, self.pool_of(key), None, now)
                if c.metric == metric and c.limit is not None
            ]
            if not candidates:
                raise self._no_limit(key, metric)
        values = self.backend.read([c.bucket for c, _ in candidates])
        for (counter, limit), used in zip(candidates, values, strict=False):
            remaining = max(0, limit - used)
            if remaining < required:
                logger.warning(
                    "%s: Insufficient quota (remaining: %d, required: %d; %s %s %s)",
                    key.label,
                    remaining,
                    required,
                    counter.scope.name,
                    counter.window.kind,
                    metric,
                )
                return False
        return True

    def get_all_quotas(
        self, keys_config: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Quota of many keys, read in one round trip.

        ``keys_config`` has the original shape, ``{"groq": [{"id": 1,
        "daily_limit": 14400}, ...]}``; each entry comes back with ``"quota"``
        added (a :class:`QuotaInfo`). ``daily_limit`` may be left out for
        registered keys, and an entry may set ``"metric": "requests"``. Without
        ``keys_config`` every registered key is reported, with ``quota`` None for a
        key that has no daily limit.
        """
        now = self.now()
        strict = keys_config is not None
        if keys_config is None:
            registered: dict[str, list[dict[str, Any]]] = {}
            for k in self._keys.values():
                item = {"id": k.key_id, "priority": k.priority, "daily_limit": k.tokens_per_day}
                registered.setdefault(k.provider, []).append(item)
            keys_config = registered
        if not isinstance(keys_config, Mapping):
            raise InvalidInputError("keys_config must map provider names to lists of keys")
        plan: list[tuple[str, dict[str, Any], list[tuple[Counter, int]]]] = []
        for provider, entries in keys_config.items():
            for entry in entries:
                if not isinstance(entry, Mapping) or ("id" not in entry and "key_id" not in entry):
                    raise InvalidInputError(
                        f"each {provider!r} entry must be a dict with an 'id', got {entry!r}"
                    )
                key = self.get_key(provider, entry["id"] if "id" in entry else entry["key_id"])
                metric = check_metric(entry.get("metric", "tokens"))
                # Without a config, registered limits apply (the pool's included).
                limit = entry.get("daily_limit") if strict else None
                try:
                    cands = self._day_candidates(key, metric, limit, now)
                except ConfigurationError:
                    if strict:
                        raise
                    cands = []
                plan.append((provider, dict(entry), cands))
        values = self.backend.read([c.bucket for _, _, cands in plan for c, _ in cands])
        result: dict[str, list[dict[str, Any]]] = {p: [] for p in keys_config}
        pos = 0
        for provider, entry, cands in plan:
            quota = self._binding(cands, values[pos : pos + len(cands)]) if cands else None
            pos += len(cands)
            result[provider].append({**entry, "quota": quota})
        return result

    def adjust_usage(
        self,
        provider: str,
        key_id: int | str,
        tokens: int,
        requests: int = 0,
        *,
        model: str | None = None,
    ) -> UsageRecord:
        """Add ``tokens`` and ``requests`` (either may be negative) to the key's
        current counters, unconditionally. Used to reconcile a reservation with
        what a call really cost; the router's leases do it for you. Nothing
        stops a negative adjustment from taking a counter below zero: never
        refund more than was recorded in the same window."""
        key, tokens, requests, _ = self._prepare(
            provider, key_id, (tokens, "tokens"), (requests, "requests"), model, allow_negative=True
        )
        return self._settle(key, tokens, requests, model, None)

    def record_outcome(
        self,
        provider: str,
        key_id: int | str,
        outcome: Outcome,
    ) -> datetime | None:
        """Record a call's success or failure and latency for the key.

        A rate limit (429) rests the key for its ``retry_after`` or an escalating
        cooldown (see :class:`HealthPolicy`); an auth failure (401/403) disables
        it until :meth:`enable_key`. Returns the end of the key's rest, if any.
        """
        key = self.get_key(provider, key_id)
        return self._outcome(key, outcome)

    def disable_key(self, provider: str, key_id: int | str) -> None:
        """Take the key out of selection until :meth:`enable_key`."""
        key = self.get_key(provider, key_id)
        self.backend.apply([disable_op(key, self.now())])
        logger.warning("%s disabled by hand", key.label)

    def enable_key(self, provider: str, key_id: int | str) -> None:
        """Re-enable a disabled key and end any cooldown."""
        key = self.get_key(provider, key_id)
        self.backend.delete(clear_buckets(key))
        logger.info("%s re-enabled", key.label)

    def candidates(
        self,
        provider: str | None = None,
        *,
        tokens: int = 0,
        requests: int = 1,
        model: str | None = None,
    ) -> list[Candidate]:
        """A snapshot of every registered key (of ``provider``), read in one round
        trip: its limits for ``model``, health, latency, cooldown and whether a
        request of ``tokens`` and ``requests`` fits. Keys come in registration
        order; nothing is filtered."""
        if provider is not None:
            provider = check_id(provider, "provider")
        tokens = check_amount(tokens, "tokens")
        requests = check_amount(requests, "requests")
        if model is not None:
            check_model(model)
        now = self.now()
        plans: list[tuple[ApiKey, list[Counter], int]] = []
        buckets: list[Bucket] = []
        for key in self.registered_keys(provider):
            counters = [
                c for c in key_counters(key, self.pool_of(key), model, now) if c.limit is not None
            ]
            plans.append((key, counters, len(buckets)))
            buckets += [c.bucket for c in counters]
            buckets += health_buckets(key, now)
        values = self.backend.read(buckets)
        result = []
        for position, (key, counters, start) in enumerate(plans):
            used = values[start : start + len(counters)]
            state = read_health(values[start + len(counters) : start + len(counters) + 10], now)
            fits = all(
                u + (tokens if c.metric == "tokens" else requests) <= (c.limit or 0)
                for c, u in zip(counters, used)
            )
            result.append(
                Candidate(
                    provider=key.provider,
                    key_id=key.key_id,
                    priority=key.priority,
                    quotas=tuple(self._info(c, u, c.limit or 0) for c, u in zip(counters, used)),
                    health=state.health,
                    latency=state.latency,
                    cooldown_until=state.cooldown_until,
                    disabled=state.disabled,
                    position=position,
                    fits=fits,
                    labels=key.labels,
                )
            )
        return result

    def reset_daily_quotas(
        self, provider: str | None = None, key_id: int | str | None = None
    ) -> None:
        """Zero the current day and minute counters of registered keys: all of
        them, one provider's, or one key's. Pool counters are zeroed only by a
        full reset (no arguments), since a pool holds other keys' usage too.
        Meant for tests and manual operations; normal resets happen at the
        window boundary by themselves."""
        now = self.now()
        everything = provider is None and key_id is None
        if key_id is not None:
            if provider is None:
                raise InvalidInputError("key_id needs a provider")
            targets = [self.get_key(provider, key_id)]
        else:
            targets = self.registered_keys(
                None if provider is None else check_id(provider, "provider")
            )
        buckets = {
            c.bucket.name: c.bucket
            for key in targets
            for model in [None, *key.models]
            for c in key_counters(key, self.pool_of(key) if everything else None, model, now)
        }
        logger.info("Manually resetting %d quota counters", len(buckets))
        self.backend.delete(list(buckets.values()))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> QuotaTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"QuotaTracker(backend={self.backend!r}, keys={len(self._keys)})"

    # ------------------------------------------------------------------ helpers

    def _settle(
        self,
        key: ApiKey,
        tokens: int,
        requests: int,
        model: str | None,
        outcome: Outcome | None,
        *,
        usage: bool = True,
        at: datetime | None = None,
    ) -> UsageRecord:
        """Apply a usage adjustment and an outcome in one atomic batch.

        The adjustment goes to the windows holding ``at`` (default: now), so a
        lease settled after a window boundary reconciles the window it reserved
        in, never the next one."""
        now = self.now()
        when = now if at is None else at
        counters = list(key_counters(key, self.pool_of(key), model, when)) if usage else []
        ops = _usage_ops(counters, tokens, requests)
        extra = outcome_ops(key, outcome, now) if outcome is not None else []
        _, values = self.backend.apply([*ops, *extra])
        self._announce(key, counters, ops, values, when)
        if outcome is not None:
            self._after_outcome(key, outcome, now, values[-1] if outcome.rate_limited else 0)
        if not usage:
            return UsageRecord(tokens_used=0, requests_count=0, last_updated=to_iso(now))
        return UsageRecord(
            tokens_used=values[0], requests_count=values[1], last_updated=to_iso(now)
        )

    def _outcome(self, key: ApiKey, outcome: Outcome) -> datetime | None:
        now = self.now()
        _, values = self.backend.apply(outcome_ops(key, outcome, now))
        return self._after_outcome(key, outcome, now, values[-1] if outcome.rate_limited else 0)

    def _after_outcome(
        self, key: ApiKey, outcome: Outcome, now: datetime, strikes: int
    ) -> datetime | None:
        if outcome.auth_failed:
            logger.error(
                "%s disabled after an auth failure (%s); re-enable it with enable_key()",
                key.label,
                outcome.status_code,
            )
        if not outcome.rate_limited:
            return None
        seconds = self.health_policy.cooldown(strikes, outcome.retry_after)
        self.backend.apply([cooldown_op(key, now, seconds)])
        until = now + timedelta(seconds=seconds)
        logger.warning(
            "%s rate-limited (strike %d this hour): cooling down for %gs, until %s",
            key.label,
            strikes,
            seconds,
            to_iso(until),
        )
        return until

    def _prepare(
        self,
        provider: str,
        key_id: int | str,
        tokens: tuple[Any, str],
        requests: tuple[Any, str],
        model: str | None,
        *,
        allow_negative: bool = False,
    ) -> tuple[ApiKey, int, int, datetime]:
        """Validate a write's arguments, all before anything is written."""
        key = self.get_key(provider, key_id)
        t = check_amount(*tokens, allow_negative=allow_negative)
        r = check_amount(*requests, allow_negative=allow_negative)
        if model is not None:
            check_model(model)
        return key, t, r, self.now()

    def _key_day_counters(self, key: ApiKey, now: datetime) -> list[Counter]:
        # The key's own day counters always come first: tokens, then requests.
        counters = key_counters(key, None, None, now)
        return [next(counters), next(counters)]

    def _no_limit(self, key: ApiKey, metric: str) -> ConfigurationError:
        return ConfigurationError(
            f"no daily {metric} limit is known for {key.label}: pass daily_limit=... "
            f"or register the key with {metric}_per_day"
        )

    def _day_candidates(
        self, key: ApiKey, metric: str, daily_limit: Any, now: datetime
    ) -> list[tuple[Counter, int]]:
        """The day counters of ``metric`` that bound the key, each with its limit."""
        if daily_limit is not None:
            limit = check_amount(daily_limit, "daily_limit")
            tokens, requests = self._key_day_counters(key, now)
            return [(tokens if metric == "tokens" else requests, limit)]
        candidates = [
            (c, c.limit)
            for c in key_counters(key, self.pool_of(key), None, now)
            if c.metric == metric and c.window.kind == "day" and c.limit is not None
        ]
        if not candidates:
            raise self._no_limit(key, metric)
        return candidates

    def _binding(self, candidates: list[tuple[Counter, int]], values: Sequence[int]) -> QuotaInfo:
        """The candidate with the least remaining quota (the key's own on ties)."""
        infos = [self._info(c, v, limit) for (c, limit), v in zip(candidates, values, strict=False)]
        return min(infos, key=lambda i: i["remaining"])

    def _info(self, counter: Counter, used: int, limit: int) -> QuotaInfo:
        return QuotaInfo(
            used=used,
            limit=limit,
            remaining=max(0, limit - used),
            percentage=percentage(used, limit),
            status=status_for(used, limit, self.thresholds),
            resets_at=to_iso(counter.window.end),
            metric=counter.metric,
            window=counter.window.kind,
            scope=counter.scope.name,
        )

    def _announce(
        self,
        key: ApiKey,
        counters: Sequence[Counter],
        ops: Sequence[Op],
        values: Sequence[int],
        now: datetime,
    ) -> None:
        """Log and publish the threshold crossings of one applied write."""
        for counter, op, after in zip(counters, ops, values, strict=False):
            if counter.limit is None or op.amount <= 0:
                continue
            for level, pct in crossed_levels(
                after - op.amount, after, counter.limit, self.thresholds
            ):
                event = ThresholdEvent(
                    provider=key.provider,
                    key_id=key.key_id,
                    level=level,
                    threshold=float(pct),
                    metric=counter.metric,
                    window=counter.window.kind,
                    scope=counter.scope.name,
                    used=after,
                    limit=counter.limit,
                    percentage=percentage(after, counter.limit),
                    at=to_iso(now),
                    resets_at=to_iso(counter.window.end),
                )
                self._publish(key, event)

    def _publish(self, key: ApiKey, event: ThresholdEvent) -> None:
        scope = "" if event.scope == "key" else f" [{event.scope}]"
        logger.log(
            logging.WARNING if event.level == "warning" else logging.ERROR,
            "%s%s: %.1f%% of %s %s quota used (%s at %g%%; resets %s)",
            key.label,
            scope,
            event.percentage,
            _ADJECTIVE[event.window],
            event.metric,
            event.level,
            event.threshold,
            event.resets_at,
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("quota_kit listener %r failed on %s", listener, event)


def _usage_ops(
    counters: Sequence[Counter], tokens: int, requests: int, *, guarded: bool = False
) -> list[Op]:
    """One op per counter adding ``tokens`` or ``requests``; guarded by its limit
    when ``guarded``."""
    return [
        Op(c.bucket, tokens if c.metric == "tokens" else requests, c.limit if guarded else None)
        for c in counters
    ]


_default: QuotaTracker | None = None
_default_lock = threading.Lock()


def get_quota_tracker() -> QuotaTracker:
    """The process-wide tracker, created on first use.

    Its backend comes from the ``QUOTA_KIT_BACKEND`` environment variable
    (``memory://`` when unset). Install a configured one with
    :func:`set_quota_tracker`.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = QuotaTracker(os.environ.get("QUOTA_KIT_BACKEND", "memory://"))
        return _default


def set_quota_tracker(tracker: QuotaTracker | None) -> None:
    """Replace the process-wide tracker (``None`` forgets it)."""
    global _default
    with _default_lock:
        _default = tracker
