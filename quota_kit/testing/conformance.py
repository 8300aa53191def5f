"""The storage conformance suite: what every StorageBackend must do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from ..backends.base import Bucket, Op, StorageBackend

__all__ = ["StorageBackendConformance"]


def _bucket(name: str, partition: str = "p", ttl: int = 3600) -> Bucket:
    return Bucket(partition, f"{partition}|{name}", int(time.time()) + ttl)


def _run_threads(count: int, target: Callable[[int], None]) -> None:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            target(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


class StorageBackendConformance:
    """Subclass and provide a ``backend`` fixture returning a fresh backend."""

    def test_is_a_storage_backend(self, backend: StorageBackend) -> None:
        assert isinstance(backend, StorageBackend)

    def test_missing_buckets_read_zero(self, backend: StorageBackend) -> None:
        assert backend.read([_bucket("a"), _bucket("b", "q")]) == [0, 0]
        assert backend.read([]) == []

    def test_add_returns_values_after(self, backend: StorageBackend) -> None:
        a, b = _bucket("a"), _bucket("b")
        assert backend.apply([Op(a, 5), Op(b, 2)]) == (True, [5, 2])
        assert backend.apply([Op(a, 7), Op(b, -2)]) == (True, [12, 0])
        assert backend.read([b, a]) == [0, 12]

    def test_max_only_raises(self, backend: StorageBackend) -> None:
        a = _bucket("a")
        assert backend.apply([Op(a, 10, mode="max")]) == (True, [10])
        assert backend.apply([Op(a, 4, mode="max")]) == (True, [10])
        assert backend.apply([Op(a, 11, mode="max")]) == (True, [11])
        assert backend.read([a]) == [11]

    def test_guard_admits_exactly_up_to_the_limit(self, backend: StorageBackend) -> None:
        a = _bucket("a")
        assert backend.apply([Op(a, 6, limit=10)]) == (True, [6])
        assert backend.apply([Op(a, 4, limit=10)]) == (True, [10])
        assert backend.apply([Op(a, 1, limit=10)]) == (False, [10])
        assert backend.read([a]) == [10]

    def test_refused_batch_writes_nothing(self, backend: StorageBackend) -> None:
        a, b, c = _bucket("a"), _bucket("b"), _bucket("c")
        backend.apply([Op(b, 9)])
        applied, values = backend.apply([Op(a, 3), Op(b, 2, limit=10), Op(c, 1, mode="max")])
        assert (applied, values) == (False, [0, 9, 0])
        assert backend.read([a, b, c]) == [0, 9, 0]

    def test_guard_larger_than_limit_on_empty_bucket(self, backend: StorageBackend) -> None:
        a = _bucket("a")
        assert backend.apply([Op(a, 11, limit=10)]) == (False, [0])
        assert backend.read([a]) == [0]

    def test_several_guards_all_must_pass(self, backend: StorageBackend) -> None:
        a, b = _bucket("a"), _bucket("b")
        assert backend.apply([Op(a, 5, limit=5), Op(b, 5, limit=9)]) == (True, [5, 5])
        assert backend.apply([Op(a, 0, limit=5), Op(b, 5, limit=9)]) == (False, [5, 5])
        assert backend.apply([Op(a, 0, limit=5), Op(b, 4, limit=9)]) == (True, [5, 9])

    def test_batch_across_partitions_is_refused(self, backend: StorageBackend) -> None:
        with pytest.raises(ValueError, match="partition"):
            backend.apply([Op(_bucket("a", "p1"), 1), Op(_bucket("a", "p2"), 1)])
        assert backend.read([_bucket("a", "p1"), _bucket("a", "p2")]) == [0, 0]

    def test_empty_batch(self, backend: StorageBackend) -> None:
        assert backend.apply([]) == (True, [])

    def test_read_spans_partitions_in_order(self, backend: StorageBackend) -> None:
        buckets = [_bucket(f"n{i}", f"part{i % 7}") for i in range(40)]
        for i, b in enumerate(buckets):
            backend.apply([Op(b, i)])
        assert backend.read(buckets) == list(range(40))
        assert backend.read(buckets[::-1]) == list(range(40))[::-1]

    def test_delete(self, backend: StorageBackend) -> None:
        a, b = _bucket("a"), _bucket("b", "q")
        backend.apply([Op(a, 3)])
        backend.apply([Op(b, 4)])
        backend.delete([a, b, _bucket("never-written")])
        assert backend.read([a, b]) == [0, 0]
        assert backend.apply([Op(a, 1)]) == (True, [1])

    def test_expired_bucket_reads_zero(self, backend: StorageBackend) -> None:
        gone = Bucket("p", "p|gone", int(time.time()) - 5)
        kept = _bucket("kept")
        backend.apply([Op(gone, 3), Op(kept, 4)])
        assert backend.read([gone, kept]) == [0, 4]

    def test_names_with_reserved_characters(self, backend: StorageBackend) -> None:
        names = [
            "k:groq/1#meta-llama/llama-4-scout|m29412345|tokens",
            "p:proj#ft:gpt-4o:org.v1|d20310304|requests",
            "$weird.name%2E|x",
        ]
        buckets = [Bucket("k:groq/1", n, int(time.time()) + 60) for n in names]
        assert backend.apply([Op(b, i + 1) for i, b in enumerate(buckets)]) == (True, [1, 2, 3])
        assert backend.read(buckets) == [1, 2, 3]

    def test_large_values_are_exact(self, backend: StorageBackend) -> None:
        a = _bucket("a")
        big = 2**53
        assert backend.apply([Op(a, big)]) == (True, [big])
        assert backend.apply([Op(a, -1)]) == (True, [big - 1])

    def test_no_lost_updates_across_threads(self, backend: StorageBackend) -> None:
        a, b = _bucket("a"), _bucket("b")

        def work(_: int) -> None:
            for _ in range(50):
                backend.apply([Op(a, 1), Op(b, 3)])

        _run_threads(8, work)
        assert backend.read([a, b]) == [400, 1200]

    def test_guard_under_contention_admits_exactly_the_limit(self, backend: StorageBackend) -> None:
        a = _bucket("a")
        admitted: list[int] = []
        lock = threading.Lock()

        def work(_: int) -> None:
            for _ in range(40):
                ok, _values = backend.apply([Op(a, 1, limit=100)])
                if ok:
                    with lock:
                        admitted.append(1)

        _run_threads(8, work)
        assert len(admitted) == 100
        assert backend.read([a]) == [100]
