"""diskcache backend: a SQLite-backed cache in a local folder.

Safe across the threads and processes of one machine: every batch runs inside
``Cache.transact()``, a SQLite ``BEGIN IMMEDIATE`` transaction. Live buckets are
never evicted for size (``eviction_policy="none"``); expired ones are culled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import diskcache

from ..errors import BackendUnavailableError, ConfigurationError
from .base import Applied, Bucket, Op, check_one_partition, guards_pass, next_value

__all__ = ["DiskCacheBackend"]


class DiskCacheBackend:
    """Buckets in a :class:`diskcache.Cache`. URL: ``diskcache:///path/to/dir``
    (absolute) or ``diskcache://relative/dir``.
    """

    def __init__(self, directory: str | Path, *, timeout: float = 60.0) -> None:
        self.directory = str(directory)
        try:
            self._cache: Any = diskcache.Cache(
                self.directory, timeout=timeout, eviction_policy="none"
            )
        except OSError as exc:
            raise BackendUnavailableError(
                f"cannot open the diskcache folder {self.directory!r}: {exc}"
            ) from exc

    @classmethod
    def from_url(cls, url: str) -> DiskCacheBackend:
        parts = urlsplit(url)
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigurationError(
                f"diskcache URL {url!r} names no folder: use diskcache:///abs/path "
                "or diskcache://relative/path"
            )
        return cls(path)

    def apply(self, ops: Sequence[Op]) -> Applied:
        check_one_partition(ops)
        cache = self._cache
        with cache.transact():
            values = [cache.get(op.bucket.name, 0) for op in ops]
            if not guards_pass(ops, values):
                return False, values
            after = [next_value(op, v) for op, v in zip(ops, values)]
            now = time.time()
            for op, v in zip(ops, after):
                cache.set(op.bucket.name, v, expire=op.bucket.expires_at - now)
            return True, after

    def read(self, buckets: Sequence[Bucket]) -> list[int]:
        cache = self._cache
        with cache.transact():
            return [cache.get(b.name, 0) for b in buckets]

    def delete(self, buckets: Sequence[Bucket]) -> None:
        cache = self._cache
        with cache.transact():
            for b in buckets:
                cache.delete(b.name)

    def close(self) -> None:
        self._cache.close()

    def __repr__(self) -> str:
        return f"DiskCacheBackend({self.directory!r})"
