"""Storage backends, chosen by URL through a registry.

==========================  ==========================================  =========
URL                         backend                                     extra
==========================  ==========================================  =========
``memory://``               :class:`MemoryBackend` (one process)        —
``diskcache:///abs/dir``    :class:`DiskCacheBackend` (one machine)     —
``redis://host:6379/0``     :class:`RedisBackend` (also ``rediss://``)  ``redis``
``mongodb://host:27017/db`` :class:`MongoBackend` (``mongodb+srv://``)  ``mongo``
==========================  ==========================================  =========

Third parties add a scheme with :func:`register_backend`::

    register_backend("sqlite", lambda url: MySQLiteBackend(url))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from .base import Applied, Bucket, Op, StorageBackend

__all__ = [
    "Applied",
    "Bucket",
    "DiskCacheBackend",
    "MemoryBackend",
    "MongoBackend",
    "Op",
    "RedisBackend",
    "StorageBackend",
    "backend_from_url",
    "register_backend",
    "registered_schemes",
]

BackendFactory = Callable[[str], StorageBackend]

# scheme -> "module:Class"; imported only when a URL with that scheme is used,
# so a core install never imports redis or pymongo.
_BUILTIN: dict[str, str] = {
    "memory": "quota_kit.backends.memory:MemoryBackend",
    "diskcache": "quota_kit.backends.diskcache:DiskCacheBackend",
    "redis": "quota_kit.backends.redis:RedisBackend",
    "rediss": "quota_kit.backends.redis:RedisBackend",
    "mongodb": "quota_kit.backends.mongodb:MongoBackend",
    "mongodb+srv": "quota_kit.backends.mongodb:MongoBackend",
}
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``scheme://...`` URLs build a backend with ``factory(url)``.

    Registering a scheme again replaces the earlier factory.
    """
    if not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        raise ConfigurationError(f"invalid URL scheme {scheme!r}")
    _REGISTRY[scheme.lower()] = factory


def registered_schemes() -> list[str]:
    """Every scheme :func:`backend_from_url` understands."""
    return sorted(set(_BUILTIN) | set(_REGISTRY))


def _load(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def backend_from_url(url: str) -> StorageBackend:
    """Build the backend a URL names, e.g. ``redis://localhost:6379/0``.

    Raises :class:`~quota_kit.errors.ConfigurationError` for a malformed URL or an
    unknown scheme, and :class:`~quota_kit.errors.MissingDependencyError` when the
    backend's extra is not installed.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(
            f"invalid backend URL {url!r}: expected scheme://..., one of "
            + ", ".join(f"{s}://" for s in registered_schemes())
        )
    scheme = urlsplit(url).scheme.lower()
    factory = _REGISTRY.get(scheme)
    if factory is None:
        if scheme not in _BUILTIN:
            raise ConfigurationError(
                f"unknown backend scheme {scheme!r} in {url!r}; known: "
                + ", ".join(registered_schemes())
                + ". Third-party backends call quota_kit.backends.register_backend()."
            )
        factory = _load(_BUILTIN[scheme]).from_url
    backend = factory(url)
    return backend


def __getattr__(name: str) -> Any:
    # Lazy access to the backend classes: importing quota_kit.backends does not
    # import redis or pymongo.
    targets = {
        "MemoryBackend": _BUILTIN["memory"],
        "DiskCacheBackend": _BUILTIN["diskcache"],
        "RedisBackend": _BUILTIN["redis"],
        "MongoBackend": _BUILTIN["mongodb"],
    }
    if name in targets:
        return _load(targets[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
