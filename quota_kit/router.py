"""KeyRouter: choose the best key before each call, and learn from each call.

The router holds the policy; the tracker holds the state. ``select`` reads every
key's quotas and health in one round trip, drops the keys that cannot serve the
request, and ranks the rest with a :mod:`scoring <quota_kit.scoring>` strategy.
``acquire`` reserves the estimated usage atomically on the best key and returns
a :class:`KeyLease`; ``call`` runs your function on the best key and falls back
to the next one on rate limits, server errors and auth failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timezone
from types import TracebackType
from typing import TypeVar

from .errors import ConfigurationError, QuotaExhaustedError
from .failures import Failure, classify_error
from .health import Outcome
from .models import ApiKey
from .scoring.base import Candidate, ScoringStrategy
from .scoring.registry import get_strategy
from .tracker import QuotaTracker
from .windows import to_iso

__all__ = ["KeyLease", "KeyRouter"]

logger = logging.getLogger("quota_kit")

T = TypeVar("T")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class KeyLease:
    """A reservation on one key, for one call. Use it as a context manager::

        with router.acquire("groq", tokens=800) as lease:
            reply = client.chat(api_key=lease.api_key, ...)
            lease.report(tokens=reply.usage.total_tokens)

    On exit the reservation is reconciled with the reported usage (the estimate
    when nothing was reported), and the outcome and latency are recorded. If the
    block raises, the reserved tokens are refunded down to what was reported (0
    by default; the request still counts), and a failure that concerns the key
    (429, 401/403, 408, 5xx, timeout, connection error) is recorded: a 429 cools
    the key down, a 401/403 disables it. Usage is always reconciled in the
    windows the reservation was made in, even if the call ends after a reset.
    """

    def __init__(
        self,
        router: KeyRouter,
        key: ApiKey,
        candidate: Candidate,
        tokens: int,
        requests: int,
        model: str | None,
        acquired_at: datetime,
    ) -> None:
        self.router = router
        self.acquired_at = acquired_at
        self.key = key
        self.candidate = candidate
        self.reserved_tokens = tokens
        self.reserved_requests = requests
        self.model = model
        self._tokens: int | None = None
        self._requests: int | None = None
        self._latency: float | None = None
        self._started = time.perf_counter()
        self._settled = False

    @property
    def provider(self) -> str:
        return self.key.provider

    @property
    def key_id(self) -> int | str:
        return self.key.key_id

    @property
    def api_key(self) -> str:
        """The key's secret, resolved now (from ``api_key_env`` or ``api_key``).
        Pass it to your client; it is never stored or logged by quota_kit."""
        return self.key.secret()

    def report(
        self,
        tokens: int | None = None,
        requests: int | None = None,
        latency: float | None = None,
    ) -> None:
        """Tell the lease what the call really cost and how long it took (seconds).
        Latency defaults to the time since the lease was acquired."""
        if tokens is not None:
            self._tokens = tokens
        if requests is not None:
            self._requests = requests
        if latency is not None:
            self._latency = latency

    def settle(self, error: BaseException | None = None) -> None:
        """Reconcile and record the outcome. Called by ``__exit__``; idempotent."""
        if self._settled:
            return
        self._settled = True
        latency = self._latency
        if latency is None:
            latency = time.perf_counter() - self._started
        outcome: Outcome | None
        if error is None:
            tokens = self.reserved_tokens if self._tokens is None else self._tokens
            outcome = Outcome(ok=True, latency=latency)
        else:
            tokens = 0 if self._tokens is None else self._tokens
            failure = self.router.classify(error)
            # Only failures that say something about the key count against its
            # health: not a 400 or a bug in the calling code.
            outcome = (
                Outcome(
                    ok=False,
                    latency=latency if failure.status_code is not None else None,
                    status_code=failure.status_code,
                    retry_after=failure.retry_after,
                )
                if failure.retryable
                else None
            )
        requests = self.reserved_requests if self._requests is None else self._requests
        self.router.tracker._settle(
            self.key,
            tokens - self.reserved_tokens,
            requests - self.reserved_requests,
            self.model,
            outcome,
            at=self.acquired_at,
        )

    def __enter__(self) -> KeyLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.settle(exc)

    def __repr__(self) -> str:
        return (
            f"KeyLease({self.key.label}, tokens={self.reserved_tokens}, "
            f"requests={self.reserved_requests})"
        )


class KeyRouter:
    """Picks keys for calls. Independent of any provider SDK.

    :param tracker: the :class:`QuotaTracker` holding keys and state.
    :param strategy: a strategy name (``"weighted"``, ``"most-remaining"``, ...),
        class or instance; see :mod:`quota_kit.scoring`.
    :param max_attempts: how many keys :meth:`call` tries before giving up.
    :param classify: turns an exception into a :class:`~quota_kit.failures.Failure`.
    """

    def __init__(
        self,
        tracker: QuotaTracker,
        strategy: str | ScoringStrategy | type[ScoringStrategy] = "weighted",
        *,
        max_attempts: int = 3,
        classify: Callable[[BaseException], Failure] = classify_error,
    ) -> None:
        if max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        self.tracker = tracker
        self.strategy: ScoringStrategy = get_strategy(strategy)
        self.max_attempts = max_attempts
        self.classify = classify

    # ------------------------------------------------------------- selection

    def select(
        self,
        provider: str | None = None,
        tokens: int = 0,
        requests: int = 1,
        *,
        model: str | None = None,
        exclude: Collection[tuple[str, str]] = (),
    ) -> list[Candidate]:
        """The keys that can serve the request, best first (one round trip).

        Skipped, with an INFO log line: disabled keys, keys cooling down, keys
        with an exhausted limit, and keys whose limits cannot fit ``tokens`` and
        ``requests``. An empty list means no key can serve; a
        :class:`ConfigurationError` means no key is registered at all.
        """
        eligible, _ = self._partition(provider, tokens, requests, model, exclude)
        return eligible

    def _partition(
        self,
        provider: str | None,
        tokens: int,
        requests: int,
        model: str | None,
        exclude: Collection[tuple[str, str]],
    ) -> tuple[list[Candidate], list[datetime | None]]:
        candidates = self.tracker.candidates(
            provider, tokens=tokens, requests=requests, model=model
        )
        if not candidates:
            raise ConfigurationError(
                "no keys are registered" + (f" for provider {provider!r}" if provider else "")
            )
        eligible: list[Candidate] = []
        recoveries: list[datetime | None] = []
        for c in candidates:
            if c.ident in exclude:
                continue
            reason, recovery = self._skip_reason(c, tokens, requests)
            if reason is None:
                eligible.append(c)
            else:
                logger.info("Skipping %s: %s", c.label, reason)
                recoveries.append(recovery)
        return self.strategy.rank(eligible), recoveries

    @staticmethod
    def _skip_reason(
        c: Candidate, tokens: int, requests: int
    ) -> tuple[str | None, datetime | None]:
        if c.disabled:
            return "disabled (re-enable with enable_key)", None
        if c.cooldown_until is not None:
            return f"cooling down until {to_iso(c.cooldown_until)}", c.cooldown_until
        for q in c.quotas:
            need = tokens if q["metric"] == "tokens" else requests
            if q["status"] == "exhausted" or q["used"] + need > q["limit"]:
                detail = [
                    part
                    for part, usual in (
                        (q["scope"], "key"),
                        (f"per-{q['window']}", "per-day"),
                        (q["metric"], "tokens"),
                    )
                    if part != usual
                ]
                reason = f"{q['status']} ({q['percentage']}% used)"
                if detail:
                    reason += f" [{' '.join(detail)}]"
                return reason, _parse_iso(q["resets_at"])
        return None, None

    def acquire(
        self,
        provider: str | None = None,
        tokens: int = 0,
        requests: int = 1,
        *,
        model: str | None = None,
        exclude: Collection[tuple[str, str]] = (),
    ) -> KeyLease:
        """Reserve ``tokens`` and ``requests`` on the best key that can take them.

        The reservation is an atomic :meth:`QuotaTracker.try_consume`; if another
        worker took the quota first, the next key is tried. Raises
        :class:`QuotaExhaustedError` (naming the earliest recovery) when none fits.
        """
        ranked, recoveries = self._partition(provider, tokens, requests, model, exclude)
        for candidate in ranked:
            result = self.tracker.try_consume(
                candidate.provider, candidate.key_id, tokens, requests, model=model
            )
            if result["admitted"]:
                self.strategy.selected(candidate)
                key = self.tracker.get_key(candidate.provider, candidate.key_id)
                at = _parse_iso(result["last_updated"])  # the reservation's own instant
                return KeyLease(self, key, candidate, tokens, requests, model, at)
            logger.info("Skipping %s: its quota was taken concurrently", candidate.label)
            for q in result["refused_by"]:
                recoveries.append(_parse_iso(q["resets_at"]))
        raise self._exhausted(provider, tokens, requests, recoveries)

    @staticmethod
    def _exhausted(
        provider: str | None, tokens: int, requests: int, recoveries: Iterable[datetime | None]
    ) -> QuotaExhaustedError:
        known = [r for r in recoveries if r is not None]
        earliest = min(known) if known else None
        who = f"{provider} key" if provider else "key"
        when = (
            f"; the earliest recovers at {to_iso(earliest)}"
            if earliest
            else "; none will recover by itself"
        )
        return QuotaExhaustedError(
            f"no {who} can serve {tokens} tokens and {requests} requests{when}",
            resets_at=earliest.astimezone(timezone.utc) if earliest else None,
        )

    # ------------------------------------------------------------------ calls

    def call(
        self,
        fn: Callable[[KeyLease], T],
        provider: str | None = None,
        tokens: int = 0,
        requests: int = 1,
        *,
        model: str | None = None,
        usage: Callable[[T], int | None] | None = None,
        max_attempts: int | None = None,
    ) -> T:
        """Run ``fn(lease)`` on the best key, falling back to the next key.

        ``fn`` gets a :class:`KeyLease`; ``lease.api_key`` is the secret.
        ``usage(result)`` may return the real token count (else the estimate
        ``tokens`` is kept; ``fn`` may also call ``lease.report``). On a rate
        limit, a 5xx, an auth failure, a timeout or a connection error the next
        key is tried, up to ``max_attempts`` keys; any other error, such as a
        400, is raised at once. When every attempt failed, the last error is
        raised; when no key could be had at all, :class:`QuotaExhaustedError`.
        """
        attempts = self.max_attempts if max_attempts is None else max_attempts
        tried: set[tuple[str, str]] = set()
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                lease = self.acquire(provider, tokens, requests, model=model, exclude=tried)
            except QuotaExhaustedError:
                if last is not None:
                    raise last from None
                raise
            tried.add(lease.key.ident)
            try:
                with lease:
                    result = fn(lease)
                    if usage is not None:
                        real = usage(result)
                        if real is not None:
                            lease.report(tokens=real)
                return result
            except Exception as exc:
                failure = self.classify(exc)
                if not failure.retryable:
                    raise
                logger.warning(
                    "%s failed (%s); %s",
                    lease.key.label,
                    failure.status_code or type(exc).__name__,
                    "trying another key" if attempt < attempts else "no attempts left",
                )
                last = exc
        assert last is not None
        raise last

    def enable_key(self, provider: str, key_id: int | str) -> None:
        self.tracker.enable_key(provider, key_id)

    def disable_key(self, provider: str, key_id: int | str) -> None:
        self.tracker.disable_key(provider, key_id)

    def __repr__(self) -> str:
        return f"KeyRouter({self.strategy!r}, max_attempts={self.max_attempts})"
