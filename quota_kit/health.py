"""Health, latency, cooldown and disabled state of keys. Pure code.

The state lives in the same store as the quotas, in the key's partition, so
every worker sees it at once and a selection reads quotas and health together
in one round trip:

* outcomes: per 5-minute window, counters ``ok``, ``fail``, ``lat_ms`` (sum of
  latencies) and ``lat_n``; health and latency are estimated over a sliding
  5-minute span from the current and previous windows, so there is no unbounded
  history;
* ``cooldown``: the Unix time in milliseconds until which the key rests, raised
  with a ``max`` op so concurrent 429s never shorten it;
* ``strikes``: rate-limit failures in the current hour, for escalation (a rate
  limit costs two writes: the strike, whose new count sets the rest, then the
  cooldown);
* ``disabled``: 1 after an auth failure, until re-enabled by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field

from .backends.base import Bucket, Op
from .layout import grace, key_owner, partition_of
from .models import ApiKey
from .windows import span_window

__all__ = [
    "HealthPolicy",
    "HealthState",
    "Outcome",
    "clear_buckets",
    "cooldown_op",
    "disable_op",
    "health_buckets",
    "outcome_ops",
    "read_health",
]

SPAN = 300  # seconds per outcome window
_FOREVER = 10 * 365 * 86400  # the disabled flag's expiry: ten years
_WEEK = 7 * 86400
MAX_REST = float(_WEEK)  # no rest is longer, whatever a provider's retry-after says


class HealthPolicy(BaseModel):
    """How failures cool keys down.

    A rate-limited key rests for ``retry-after`` when the provider sent one, else
    for ``base_cooldown`` seconds; each further rate limit within the hour
    doubles (``escalation``) the rest, up to ``max_cooldown`` (a longer
    retry-after is honoured, up to a week).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_cooldown: float = Field(default=30.0, gt=0)
    escalation: float = Field(default=2.0, ge=1)
    max_cooldown: float = Field(default=900.0, gt=0)

    def cooldown(self, strikes: int, retry_after: float | None) -> float:
        """Seconds to rest after the ``strikes``-th rate limit within the hour."""
        first = retry_after if retry_after is not None else self.base_cooldown
        escalated = min(self.max_cooldown, first * self.escalation ** max(0, strikes - 1))
        return min(max(escalated, retry_after or 0.0), MAX_REST)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one call on one key."""

    ok: bool
    latency: float | None = None
    """Seconds; None when not measured."""
    status_code: int | None = None
    retry_after: float | None = None
    """Seconds the provider asked us to wait (rate limits)."""

    @property
    def rate_limited(self) -> bool:
        return self.status_code == 429

    @property
    def auth_failed(self) -> bool:
        return self.status_code in (401, 403)


@dataclass(frozen=True, slots=True)
class HealthState:
    health: float
    latency: float | None
    cooldown_until: datetime | None
    disabled: bool


def _state_bucket(key: ApiKey, name: str, expires_at: int) -> Bucket:
    return Bucket(partition_of(key), f"{key_owner(key)}|s|{name}", expires_at)


def _outcome_buckets(key: ApiKey, now: datetime, offset: int) -> list[Bucket]:
    window = span_window(now - timedelta(seconds=offset), SPAN, "health")
    expires = int(window.end.timestamp()) + grace(window)
    owner, partition = key_owner(key), partition_of(key)
    return [
        Bucket(partition, f"{owner}|{window.label}|{metric}", expires)
        for metric in ("ok", "fail", "lat_ms", "lat_n")
    ]


def health_buckets(key: ApiKey, now: datetime) -> list[Bucket]:
    """The buckets :func:`read_health` interprets, in its order (10 buckets)."""
    return [
        *_outcome_buckets(key, now, 0),
        *_outcome_buckets(key, now, SPAN),
        _state_bucket(key, "cooldown", 0),
        _state_bucket(key, "disabled", 0),
    ]


def read_health(values: list[int], now: datetime) -> HealthState:
    """Interpret the values of :func:`health_buckets` at ``now``."""
    cur, prev = values[0:4], values[4:8]
    cooldown_ms, disabled = values[8], values[9]
    elapsed = now.timestamp() % SPAN
    weight = 1.0 - elapsed / SPAN  # share of the previous window still inside the span
    ok = cur[0] + prev[0] * weight
    fail = cur[1] + prev[1] * weight
    lat_ms = cur[2] + prev[2] * weight
    lat_n = cur[3] + prev[3] * weight
    health = 1.0 if ok + fail <= 0 else ok / (ok + fail)
    latency = None if lat_n <= 0 else lat_ms / lat_n / 1000.0
    until = None
    if cooldown_ms > now.timestamp() * 1000:
        until = datetime.fromtimestamp(cooldown_ms / 1000, timezone.utc)
    return HealthState(health, latency, until, disabled > 0)


def outcome_ops(key: ApiKey, outcome: Outcome, now: datetime) -> list[Op]:
    """The ops recording ``outcome``. For a rate limit, the last op counts the
    strike (its value after the write is the number of strikes this hour); for an
    auth failure, one op disables the key."""
    ok, fail, lat_ms, lat_n = _outcome_buckets(key, now, 0)
    ops = [Op(ok if outcome.ok else fail, 1)]
    if outcome.latency is not None:
        ops += [Op(lat_ms, round(max(0.0, outcome.latency) * 1000)), Op(lat_n, 1)]
    if outcome.auth_failed:
        ops.append(disable_op(key, now))
    if outcome.rate_limited:
        hour = span_window(now, 3600, "hour")
        strikes = f"{key_owner(key)}|{hour.label}|strikes"
        ops.append(Op(Bucket(partition_of(key), strikes, int(hour.end.timestamp())), 1))
    return ops


def disable_op(key: ApiKey, now: datetime) -> Op:
    """Set the key's disabled flag (until :func:`clear_buckets` removes it)."""
    return Op(_state_bucket(key, "disabled", int(now.timestamp()) + _FOREVER), 1, mode="max")


def cooldown_op(key: ApiKey, now: datetime, seconds: float) -> Op:
    """Rest the key for ``seconds`` from ``now``; never shortens a longer rest."""
    until_ms = round((now.timestamp() + seconds) * 1000)
    # A later, shorter rest must not pull the bucket's expiry before this one ends.
    expires = max(until_ms // 1000 + 60, int(now.timestamp()) + _WEEK)
    return Op(_state_bucket(key, "cooldown", expires), until_ms, mode="max")


def clear_buckets(key: ApiKey) -> list[Bucket]:
    """The cooldown and disabled flags, for re-enabling a key by hand."""
    return [_state_bucket(key, "cooldown", 0), _state_bucket(key, "disabled", 0)]
