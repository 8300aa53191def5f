"""Strategies by name, as configuration chooses them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from .base import ScoringStrategy

__all__ = ["available_strategies", "get_strategy", "register_strategy"]

_STRATEGIES: dict[str, type[ScoringStrategy]] = {}


def register_strategy(name: str, cls: type[ScoringStrategy]) -> None:
    """Make ``name`` choose ``cls``. Subclasses that set ``name`` register themselves."""
    _STRATEGIES[name] = cls


def available_strategies() -> list[str]:
    return sorted(_STRATEGIES)


def get_strategy(spec: str | ScoringStrategy | type[ScoringStrategy], **options: Any) -> Any:
    """A strategy instance from a name, a class, or an instance (returned as is)."""
    from .base import ScoringStrategy

    if isinstance(spec, ScoringStrategy):
        return spec
    if isinstance(spec, type) and issubclass(spec, ScoringStrategy):
        return spec(**options)
    if isinstance(spec, str):
        cls = _STRATEGIES.get(spec)
        if cls is None:
            raise ConfigurationError(
                f"unknown scoring strategy {spec!r}; known: {', '.join(available_strategies())}"
            )
        return cls(**options)
    raise ConfigurationError(f"a strategy must be a name, a class or an instance, got {spec!r}")
