"""In-memory backend: a dict behind a lock. Thread-safe, one process only.

Expired buckets are purged at most once a minute, so memory stays bounded
however long the process runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from .base import Applied, Bucket, Op, check_one_partition, guards_pass, next_value

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Buckets in a dict, guarded by one lock. URL: ``memory://``.

    ``now`` returns the Unix time used to decide expiry (``time.time`` by default).
    """

    PURGE_EVERY = 60.0

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._values: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._now = now
        self._next_purge = 0.0

    @classmethod
    def from_url(cls, url: str) -> MemoryBackend:
        return cls()

    def _value(self, name: str, now: float) -> int:
        entry = self._values.get(name)
        if entry is None or entry[1] <= now:
            return 0
        return entry[0]

    def _maybe_purge(self, now: float) -> None:
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_EVERY
            dead = [name for name, (_, exp) in self._values.items() if exp <= now]
            for name in dead:
                del self._values[name]

    def apply(self, ops: Sequence[Op]) -> Applied:
        check_one_partition(ops)
        now = self._now()
        with self._lock:
            self._maybe_purge(now)
            values = [self._value(op.bucket.name, now) for op in ops]
            if not guards_pass(ops, values):
                return False, values
            after = [next_value(op, v) for op, v in zip(ops, values)]
            for op, v in zip(ops, after):
                self._values[op.bucket.name] = (v, op.bucket.expires_at)
            return True, after

    def read(self, buckets: Sequence[Bucket]) -> list[int]:
        now = self._now()
        with self._lock:
            return [self._value(b.name, now) for b in buckets]

    def delete(self, buckets: Sequence[Bucket]) -> None:
        with self._lock:
            for b in buckets:
                self._values.pop(b.name, None)

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        """Number of buckets held, expired ones included until the next purge."""
        return len(self._values)

    def __repr__(self) -> str:
        return f"MemoryBackend(buckets={len(self._values)})"
