"""Classifying a failed provider call: is it the key's fault, and may we retry?

Works with the exceptions of the common clients without importing them: it
looks for ``status_code`` on the exception (openai, anthropic, groq SDKs) or on
its ``response`` (httpx, requests), and for a ``retry-after`` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import QuotaKitError

__all__ = ["Failure", "ProviderError", "classify_error"]


class ProviderError(QuotaKitError):
    """Raise this from your call to tell the router what the provider answered.

    >>> raise ProviderError(429, retry_after=20)  # doctest: +SKIP
    """

    def __init__(
        self, status_code: int, message: str = "", *, retry_after: float | None = None
    ) -> None:
        super().__init__(message or f"provider answered HTTP {status_code}")
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed call means for routing."""

    status_code: int | None
    retry_after: float | None
    retryable: bool
    """Whether another key may succeed: rate limits, 5xx, auth failures (the
    next key has other credentials), timeouts and connection errors. Never a
    bad request (400) or any other 4xx."""


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except Exception:
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def classify_error(exc: BaseException) -> Failure:
    """Read the HTTP status and ``retry-after`` out of ``exc``, if it has them."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    if status is None and response is not None:
        status = getattr(response, "status_code", None) or getattr(response, "status", None)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is None and response is not None:
        retry_after = _retry_after(getattr(response, "headers", None))
    if isinstance(status, int) and not isinstance(status, bool):
        retryable = status in (401, 403, 408, 429) or status >= 500
        return Failure(status, retry_after, retryable)
    if isinstance(exc, (TimeoutError, ConnectionError)) and not isinstance(exc, QuotaKitError):
        return Failure(None, None, True)
    return Failure(None, None, False)
