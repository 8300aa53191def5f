"""The one exception hierarchy of quota_kit.

Everything the library raises on purpose derives from :class:`QuotaKitError`, so
``except QuotaKitError`` catches all of it. (Building a pydantic model such as
``ApiKey(...)`` yourself raises pydantic's ``ValidationError``, as pydantic does;
the tracker turns invalid key dicts into :class:`ConfigurationError`.) Each class
also derives from the closest built-in exception, so existing ``except
ValueError`` code keeps working.

::

    QuotaKitError
    ├── ConfigurationError          (ValueError)  bad URL, unknown scheme, bad key config
    │   └── MissingDependencyError  (ImportError) an optional extra is not installed
    ├── InvalidInputError           (ValueError)  bad argument to a call; nothing was written
    ├── BackendUnavailableError     (ConnectionError) the store could not be reached
    └── QuotaExhaustedError                       no key can serve the request
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "BackendUnavailableError",
    "ConfigurationError",
    "InvalidInputError",
    "MissingDependencyError",
    "QuotaExhaustedError",
    "QuotaKitError",
]


class QuotaKitError(Exception):
    """Base class of every error quota_kit raises on purpose."""


class ConfigurationError(QuotaKitError, ValueError):
    """The library was configured wrongly: a bad backend URL, an unknown scheme,
    an invalid key or pool definition, an unknown strategy name."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing. The message names the extra to install."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'quota-kit[{extra}]'"
        )


class InvalidInputError(QuotaKitError, ValueError):
    """An argument was refused before anything was written."""


class BackendUnavailableError(QuotaKitError, ConnectionError):
    """The storage backend could not be reached or failed mid-operation."""


class QuotaExhaustedError(QuotaKitError):
    """No key can serve the request right now.

    ``resets_at`` is the earliest instant (UTC) at which a skipped key regains
    quota or leaves its cooldown, or ``None`` when no key will recover by itself
    (for example, every key is disabled).
    """

    def __init__(self, message: str, resets_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at
