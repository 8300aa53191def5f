"""The storage protocol: atomic counter operations on named buckets.

A backend knows nothing of windows, limits or statuses. It stores integers under
names, applies batches of operations atomically, and may delete a bucket once its
absolute expiry has passed. All policy lives above it, in the tracker.

Writing a backend means implementing four methods (see :class:`StorageBackend`)
and passing the conformance suite in :mod:`quota_kit.testing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["Applied", "Bucket", "Op", "StorageBackend", "check_one_partition"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """A named integer counter.

    ``name`` is unique across the whole store. ``partition`` groups the buckets
    that one :meth:`StorageBackend.apply` call may touch together: the Redis
    backend makes it the cluster hash tag, the MongoDB backend one document.
    ``expires_at`` is an absolute Unix time in seconds after which the store may
    drop the bucket; correctness never depends on it, since a new window always
    uses a new name. Expired buckets read as 0.
    """

    partition: str
    name: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a batch.

    ``mode="add"`` adds ``amount`` (which may be negative) to the bucket.
    ``mode="max"`` raises the bucket to ``amount`` if it is lower.

    ``limit`` guards the batch: the whole batch is applied only if, for every
    ``add`` op with a limit, ``value + amount <= limit``. Otherwise nothing is
    written.
    """

    bucket: Bucket
    amount: int
    limit: int | None = None
    mode: Literal["add", "max"] = "add"


Applied = tuple[bool, list[int]]
"""``(applied, values)``: whether the batch was written, and each bucket's value
after the call (unchanged values when it was refused), in the order of the ops."""


@runtime_checkable
class StorageBackend(Protocol):
    """What the tracker needs from a store. Four methods, all atomic.

    * :meth:`apply` runs a batch of ops on buckets of **one partition** as one
      atomic step: check every guard, then write all or nothing. A batch never
      names the same bucket twice.
    * :meth:`read` returns current values of buckets from any partitions, in one
      round trip on networked stores.
    * :meth:`delete` removes buckets (manual resets, re-enabling a key).
    * :meth:`close` releases connections.

    Networked backends do each call in one round trip.
    """

    def apply(self, ops: Sequence[Op]) -> Applied: ...

    def read(self, buckets: Sequence[Bucket]) -> list[int]: ...

    def delete(self, buckets: Sequence[Bucket]) -> None: ...

    def close(self) -> None: ...


def check_one_partition(ops: Sequence[Op]) -> None:
    """Raise ``ValueError`` unless every op of the batch shares one partition."""
    if ops:
        first = ops[0].bucket.partition
        for op in ops:
            if op.bucket.partition != first:
                raise ValueError(
                    f"one apply() batch spans partitions {first!r} and {op.bucket.partition!r}"
                )


def guards_pass(ops: Sequence[Op], values: Sequence[int]) -> bool:
    """Whether every guarded ``add`` op fits, given the buckets' current values."""
    return all(
        op.limit is None or op.mode != "add" or value + op.amount <= op.limit
        for op, value in zip(ops, values)
    )


def next_value(op: Op, value: int) -> int:
    """The value of ``op.bucket`` after ``op`` is applied to ``value``."""
    return value + op.amount if op.mode == "add" else max(value, op.amount)
