"""Configuration models: API keys, quota pools and thresholds (pydantic v2).

Every model accepts plain dicts too, so keys can come from JSON, YAML or
environment-driven config::

    ApiKey.model_validate({"provider": "groq", "key_id": 1, "tokens_per_day": 14400})
"""

from __future__ import annotations

import os
from datetime import time
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    SecretStr,
    field_validator,
    model_validator,
)

from .errors import ConfigurationError, InvalidInputError
from .validation import check_id, check_model
from .windows import DailyReset

__all__ = ["ApiKey", "Limits", "Pool", "Thresholds"]


class Limits(BaseModel):
    """Per-window limits. ``None`` means "no limit" for that metric and window.

    Day windows follow the owner's reset policy; minute windows are UTC calendar
    minutes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tokens_per_day: NonNegativeInt | None = None
    requests_per_day: NonNegativeInt | None = None
    tokens_per_minute: NonNegativeInt | None = None
    requests_per_minute: NonNegativeInt | None = None

    def limit(self, metric: str, window: str) -> int | None:
        """The limit for ``metric`` ("tokens"/"requests") in ``window`` ("day"/"minute")."""
        value: int | None = getattr(self, f"{metric}_per_{window}")
        return value

    def has_limits(self) -> bool:
        return any(
            v is not None
            for v in (
                self.tokens_per_day,
                self.requests_per_day,
                self.tokens_per_minute,
                self.requests_per_minute,
            )
        )


class _Owner(Limits):
    """Shared fields of keys and pools: the daily reset and per-model limits."""

    reset_timezone: str = "UTC"
    reset_time: time = time(0, 0)
    models: dict[str, Limits] = Field(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _check_models(cls, value: dict[str, Limits]) -> dict[str, Limits]:
        for name in value:
            check_model(name)
        return value

    @model_validator(mode="after")
    def _check_reset(self) -> _Owner:
        DailyReset(self.reset_timezone, self.reset_time)
        return self

    @property
    def reset(self) -> DailyReset:
        return DailyReset(self.reset_timezone, self.reset_time)


class Pool(_Owner):
    """A limit shared by several keys, such as a Google Cloud project (Gemini) or
    an organisation (Groq). A key's effective remaining quota is the least of its
    own and its pool's."""

    pool_id: str

    @field_validator("pool_id")
    @classmethod
    def _check_pool_id(cls, value: str) -> str:
        return check_id(value, "pool_id")


class ApiKey(_Owner):
    """One API key: who it belongs to, its limits, and where its secret lives.

    The secret is referenced, never stored: ``api_key_env`` names an environment
    variable read only when the router hands the key to your code. ``api_key``
    may hold the value directly as a :class:`pydantic.SecretStr`, which never
    shows in reprs, logs or ``model_dump_json()``. Neither reaches a backend.
    """

    provider: str
    key_id: int | str
    priority: int = Field(default=1, ge=1)
    pool: str | None = None
    api_key_env: str | None = None
    api_key: SecretStr | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("provider")
    @classmethod
    def _check_provider(cls, value: str) -> str:
        return check_id(value, "provider")

    @field_validator("key_id", mode="before")
    @classmethod
    def _check_key_id(cls, value: Any) -> Any:
        check_id(value, "key_id")
        return value

    @field_validator("pool")
    @classmethod
    def _check_pool(cls, value: str | None) -> str | None:
        return None if value is None else check_id(value, "pool")

    @property
    def ident(self) -> tuple[str, str]:
        """``(provider, key id text)``: how the tracker finds this key."""
        return (self.provider, str(self.key_id))

    @property
    def label(self) -> str:
        """Human name used in logs: ``groq Key 1``."""
        return f"{self.provider} Key {self.key_id}"

    def secret(self) -> str:
        """Resolve the secret now. Call only when handing the key to a client."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env is not None:
            value = os.environ.get(self.api_key_env)
            if value:
                return value
            raise ConfigurationError(
                f"{self.label}: environment variable {self.api_key_env} is not set"
            )
        raise ConfigurationError(f"{self.label} has no secret: set api_key_env or api_key")


class Thresholds(BaseModel):
    """Percentages of a limit at which the status changes and an event fires.

    ``used * 100 >= warning * limit`` is "warning", and so on; "exhausted" is
    reached at ``exhausted`` percent (100 by default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning: float = 75
    critical: float = 90
    exhausted: float = 100

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not 0 < self.warning < self.critical < self.exhausted <= 100:
            raise InvalidInputError(
                "thresholds must satisfy 0 < warning < critical < exhausted <= 100, got "
                f"{self.warning}, {self.critical}, {self.exhausted}"
            )
        return self

    def levels(self) -> tuple[tuple[str, float], ...]:
        return (
            ("warning", self.warning),
            ("critical", self.critical),
            ("exhausted", self.exhausted),
        )
