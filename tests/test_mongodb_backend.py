"""MongoDB-specific tests of :class:`quota_kit.backends.mongodb.MongoBackend`.

They always run under mongomock. When ``QUOTA_KIT_MONGODB_URL`` is set (e.g.
``mongodb://localhost:27017/quota_kit_test``) every collection-backed test also
runs against that server, each in a fresh collection dropped afterwards.
No test sleeps: expiry is exercised with expiries relative to ``time.time()``
and, where time must pass, with an injected clock.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timezone
from typing import Any

import mongomock
import pymongo
import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError

from quota_kit.backends import backend_from_url
from quota_kit.backends.base import Bucket, Op
from quota_kit.backends.memory import MemoryBackend
from quota_kit.backends.mongodb import MongoBackend, field_name
from quota_kit.errors import (
    BackendUnavailableError,
    ConfigurationError,
    MissingDependencyError,
)

pytestmark = pytest.mark.mongo

REAL_URL = os.environ.get("QUOTA_KIT_MONGODB_URL")
KINDS = ["mongomock"] + (["real"] if REAL_URL else [])


@pytest.fixture(params=KINDS)
def collection(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "mongomock":
        yield mongomock.MongoClient().db.coll
        return
    client: Any = pymongo.MongoClient(REAL_URL, serverSelectionTimeoutMS=5000)
    coll = client.get_default_database("quota_kit_test")[f"t_{uuid.uuid4().hex}"]
    try:
        yield coll
    finally:
        coll.drop()
        client.close()


@pytest.fixture
def backend(collection: Any) -> Iterator[MongoBackend]:
    b = MongoBackend(collection)
    yield b
    b.close()


def later(seconds: float = 3600) -> int:
    return int(time.time() + seconds)


def bucket(name: str, partition: str = "p", expires_at: int | None = None) -> Bucket:
    return Bucket(partition, name, later() if expires_at is None else expires_at)


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


class Proxy:
    """Wraps a collection; records method calls; subclasses override some."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr) and not name.startswith("_"):

            def recorded(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attr(*args, **kwargs)

            return recorded
        return attr


# -- layout and escaping ------------------------------------------------------


def test_ttl_index_on_exp(backend: MongoBackend, collection: Any) -> None:
    ttl = [
        spec
        for spec in collection.index_information().values()
        if spec["key"] == [("exp", 1)] and spec.get("expireAfterSeconds") == 0
    ]
    assert ttl


def test_one_document_per_partition(backend: MongoBackend, collection: Any) -> None:
    day, minute = bucket("k1:d1"), bucket("k1:m1", expires_at=later(120))
    assert backend.apply([Op(day, 2), Op(minute, 1)]) == (True, [2, 1])
    assert backend.apply([Op(bucket("k2:d1", "q"), 5)]) == (True, [5])
    docs = {d["_id"]: d for d in collection.find()}
    assert set(docs) == {"p", "q"}
    p = docs["p"]
    assert p["v"] == {"k1:d1": 2, "k1:m1": 1}
    assert set(p["x"]) == {"k1:d1", "k1:m1"}
    expiry = p["x"]["k1:d1"]
    assert expiry.replace(tzinfo=timezone.utc).timestamp() == day.expires_at
    assert p["exp"] == max(p["x"].values())


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("a.b", "a%2Eb"),
        ("$x", "%24x"),
        ("a$b", "a%24b"),
        ("50%", "50%25"),
        ("%2E", "%252E"),
        ("", "%"),
        ("plain:k1:d20261203", "plain:k1:d20261203"),
    ],
)
def test_field_name(name: str, field: str) -> None:
    assert field_name(name) == field


def test_escaped_names_round_trip(backend: MongoBackend, collection: Any) -> None:
    names = ["a.b", "a%2Eb", "$x", "x$", "a$b.c%", "%", "%25", "", "..", "$", " sp ace "]
    buckets = [bucket(n) for n in names]
    ok, values = backend.apply([Op(b, i + 1) for i, b in enumerate(buckets)])
    assert ok and values == list(range(1, len(names) + 1))
    assert backend.read(buckets) == values
    raw = collection.find_one({"_id": "p"})
    assert len(raw["v"]) == len(names)
    for key in raw["v"]:
        assert "." not in key and not key.startswith("$")
    # max ops and guards address the same escaped fields
    assert backend.apply([Op(buckets[0], 10, mode="max"), Op(buckets[2], 1, limit=4)]) == (
        True,
        [10, 4],
    )
    assert backend.apply([Op(buckets[2], 1, limit=4)]) == (False, [4])
    backend.delete([buckets[0], buckets[1]])
    assert backend.read(buckets[:3]) == [0, 0, 4]


# -- guards ---------------------------------------------------------------------


def test_refused_batch_writes_nothing(backend: MongoBackend, collection: Any) -> None:
    a, b, c = bucket("a"), bucket("b"), bucket("c")
    assert backend.apply([Op(a, 4, limit=5), Op(b, 1)]) == (True, [4, 1])
    before = collection.find_one({"_id": "p"})
    # a fails its guard, c would pass: nothing at all is written
    assert backend.apply([Op(a, 2, limit=5), Op(b, 1), Op(c, 1, limit=10)]) == (False, [4, 1, 0])
    assert backend.apply([Op(a, 1, limit=5), Op(b, 7, mode="max")]) == (True, [5, 7])
    assert backend.apply([Op(a, 1, limit=5)]) == (False, [5])
    after = collection.find_one({"_id": "p"})
    assert after["v"] == {"a": 5, "b": 7}
    assert set(after["x"]) == set(before["x"])


def test_amount_over_limit_on_new_partition_writes_nothing(
    backend: MongoBackend, collection: Any
) -> None:
    assert backend.apply([Op(bucket("a", "fresh"), 6, limit=5), Op(bucket("b", "fresh"), 1)]) == (
        False,
        [0, 0],
    )
    assert collection.find_one({"_id": "fresh"}) is None


def test_amount_over_limit_fits_over_a_negative_value(backend: MongoBackend) -> None:
    a = bucket("a")
    assert backend.apply([Op(a, -3)]) == (True, [-3])
    assert backend.apply([Op(a, 7, limit=5)]) == (True, [4])
    assert backend.apply([Op(a, 7, limit=5)]) == (False, [4])


def test_limit_ignored_on_max_ops(backend: MongoBackend) -> None:
    assert backend.apply([Op(bucket("a"), 10, limit=1, mode="max")]) == (True, [10])


def test_negative_max_on_missing_bucket_is_zero(backend: MongoBackend) -> None:
    a, b = bucket("a"), bucket("b")
    assert backend.apply([Op(a, -3, mode="max"), Op(b, 2)]) == (True, [0, 2])
    assert backend.read([a, b]) == [0, 2]
    assert backend.apply([Op(a, -5)]) == (True, [-5])
    assert backend.apply([Op(a, -3, mode="max")]) == (True, [-3])


# -- round trips ------------------------------------------------------------------


def test_round_trips(collection: Any) -> None:
    proxy = Proxy(collection)
    backend = MongoBackend(proxy)  # type: ignore[arg-type]
    assert proxy.calls == ["create_index"]
    a, b = bucket("a"), bucket("b", "q")
    proxy.calls.clear()
    backend.apply([Op(a, 1, limit=2), Op(bucket("a2"), 1, mode="max")])
    assert proxy.calls == ["find_one_and_update"]
    proxy.calls.clear()
    backend.apply([Op(a, 1, limit=2)])
    assert proxy.calls == ["find_one_and_update"]
    proxy.calls.clear()
    assert backend.apply([Op(a, 1, limit=2)]) == (False, [2])
    assert proxy.calls == ["find_one_and_update", "find_one"]
    backend.apply([Op(b, 1)])
    proxy.calls.clear()
    assert backend.read([a, b, bucket("zz", "none")]) == [2, 1, 0]
    assert proxy.calls == ["find"]
    proxy.calls.clear()
    backend.delete([a, b])
    assert proxy.calls == ["update_many"]
    assert backend.read([a, b]) == [0, 0]


# -- the first-insert race -----------------------------------------------------------


class LosesFirstInsert(Proxy):
    """The first upserting update finds no document, but a competitor inserts the
    partition document before ours: our insert fails with a duplicate key."""

    def __init__(self, inner: Any, competitor: Callable[[], object]) -> None:
        super().__init__(inner)
        self.competitor = competitor
        self.raced = False

    def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("find_one_and_update")
        if not self.raced and kwargs.get("upsert"):
            self.raced = True
            self.competitor()
            raise DuplicateKeyError("E11000 duplicate key error (simulated)", 11000)
        return self.inner.find_one_and_update(*args, **kwargs)


@pytest.mark.parametrize(("limit", "expected"), [(5, (True, [2])), (1, (False, [1]))])
def test_lost_first_insert_race_retries(
    collection: Any, limit: int, expected: tuple[bool, list[int]]
) -> None:
    a = bucket("a", "race")
    other = MongoBackend(collection)
    proxy = LosesFirstInsert(collection, lambda: other.apply([Op(a, 1, limit=limit)]))
    backend = MongoBackend(proxy)  # type: ignore[arg-type]
    assert backend.apply([Op(a, 1, limit=limit)]) == expected
    assert other.read([a]) == [expected[1][0]]


def _race(backends: list[MongoBackend], b: Bucket, limit: int | None) -> list[bool]:
    barrier = threading.Barrier(len(backends))
    results: list[bool] = []
    errors: list[BaseException] = []

    def run(backend: MongoBackend) -> None:
        try:
            barrier.wait()
            results.append(backend.apply([Op(b, 1, limit=limit)])[0])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(x,)) for x in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    return results


@pytest.mark.parametrize(("limit", "winners"), [(None, 2), (1, 1)])
def test_concurrent_first_inserts(collection: Any, limit: int | None, winners: int) -> None:
    # Two processes' first apply on one new partition, released together.
    for i in range(10):
        b = bucket("a", f"threads-{i}")
        backends = [MongoBackend(collection), MongoBackend(collection)]
        assert sum(_race(backends, b, limit)) == winners
        assert backends[0].read([b]) == [winners]


def test_guard_under_thread_contention(backend: MongoBackend) -> None:
    # Frequent thread switches make mongomock interleave inside an update unless
    # the backend serialises its calls there.
    a = bucket("a")
    admitted: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(40):
            ok, values = backend.apply([Op(a, 1, limit=100)])
            if ok:
                with lock:
                    admitted.append(values[0])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert sorted(admitted) == list(range(1, 101))
    assert backend.read([a]) == [100]


# -- expiry and pruning -----------------------------------------------------------------


def test_expired_bucket_reads_zero_and_restarts(collection: Any) -> None:
    clock = Clock()
    t0 = clock.t
    backend = MongoBackend(collection, now=clock)
    a, keep = bucket("a", expires_at=int(t0 + 60)), bucket("keep", expires_at=int(t0 + 7200))
    assert backend.apply([Op(a, 5, limit=5), Op(keep, 1)]) == (True, [5, 1])
    clock.t = t0 + 61
    assert backend.read([a, keep]) == [0, 1]
    # the same name again (a reused bucket name): counts from 0, guard included
    a2 = bucket("a", expires_at=int(t0 + 180))
    assert backend.apply([Op(a2, 3, limit=5)]) == (True, [3])
    assert backend.read([a2]) == [3]
    assert backend.apply([Op(a2, 3, limit=5)]) == (False, [3])


def test_pruning_removes_expired_fields(collection: Any) -> None:
    now = time.time()
    backend = MongoBackend(collection, prune_interval=0)
    old, live = bucket("old", expires_at=int(now - 100)), bucket("live")
    # written with a past expiry, then pruned by the same apply (first in process)
    assert backend.apply([Op(old, 1), Op(live, 1)]) == (True, [1, 1])
    doc = collection.find_one({"_id": "p"})
    assert doc["v"] == {"live": 1} and set(doc["x"]) == {"live"}
    assert backend.read([old, live]) == [0, 1]


def test_pruning_runs_once_per_interval(collection: Any) -> None:
    clock = Clock()
    t0 = clock.t
    backend = MongoBackend(collection, prune_interval=3600, now=clock)
    m1 = bucket("m1", expires_at=int(t0 + 60))
    day = bucket("day", expires_at=int(t0 + 86400))
    backend.apply([Op(m1, 1), Op(day, 1)])  # first apply of the partition: prunes nothing
    clock.t = t0 + 120
    backend.apply([Op(bucket("m3", expires_at=int(t0 + 180)), 1), Op(day, 1)])
    assert set(collection.find_one({"_id": "p"})["v"]) == {"m1", "m3", "day"}  # not yet due
    clock.t = t0 + 3601
    assert backend.apply([Op(day, 1)]) == (True, [3])
    doc = collection.find_one({"_id": "p"})
    assert doc["v"] == {"day": 3} and set(doc["x"]) == {"day"}


class FailingUpdateOne(Proxy):
    def update_one(self, *args: Any, **kwargs: Any) -> Any:
        raise AutoReconnect("connection reset (simulated)")


def test_failed_prune_does_not_fail_the_apply(collection: Any) -> None:
    backend = MongoBackend(FailingUpdateOne(collection), prune_interval=0)  # type: ignore[arg-type]
    old = bucket("old", expires_at=int(time.time() - 100))
    assert backend.apply([Op(old, 1), Op(bucket("live"), 2)]) == (True, [1, 2])


# -- agreement with the reference backend -------------------------------------------------


def test_matches_memory_backend(collection: Any) -> None:
    clock = Clock()
    t0 = clock.t
    memory = MemoryBackend(now=clock)
    mongo = MongoBackend(collection, now=clock, prune_interval=600)
    d = bucket("k:d", expires_at=int(t0 + 86400))
    m = [bucket(f"k:m{i}", expires_at=int(t0 + 60 * (i + 1))) for i in range(4)]
    cool = bucket("k:cool", expires_at=int(t0 + 86400))
    script: list[tuple[float, list[Op]]] = [
        (0, [Op(d, 3, limit=10), Op(m[0], 3, limit=4)]),
        (1, [Op(d, 3, limit=10), Op(m[0], 3, limit=4)]),
        (2, [Op(d, 1, limit=10), Op(m[0], 1, limit=4), Op(cool, int(t0 + 30), mode="max")]),
        (3, [Op(cool, int(t0 + 10), mode="max")]),
        (61, [Op(d, 6, limit=10), Op(m[1], 5, limit=4)]),
        (62, [Op(d, -2), Op(m[1], -1)]),
        (62, [Op(d, 4, limit=10), Op(m[1], 4, limit=4)]),
        (130, [Op(m[0], 1, limit=4)]),  # m0's name again, after it expired
        (700, [Op(d, 1), Op(m[3], -2, mode="max")]),
        (701, [Op(d, 100, limit=10)]),
    ]
    for at, ops in script:
        clock.t = t0 + at
        assert mongo.apply(ops) == memory.apply(ops), (at, ops)
        everything = [d, cool, *m]
        assert mongo.read(everything) == memory.read(everything), at
    mongo.delete([d, m[0]])
    memory.delete([d, m[0]])
    assert mongo.read([d, cool, *m]) == memory.read([d, cool, *m])


# -- misuse and failures ---------------------------------------------------------------------


def test_batch_checks(backend: MongoBackend) -> None:
    assert backend.apply([]) == (True, [])
    assert backend.read([]) == []
    backend.delete([])
    with pytest.raises(ValueError, match="partitions"):
        backend.apply([Op(bucket("a", "p"), 1), Op(bucket("b", "q"), 1)])
    with pytest.raises(ValueError, match="twice"):
        backend.apply([Op(bucket("a"), 1), Op(bucket("a"), 1, mode="max")])


def test_constructor_needs_collection_or_url(collection: Any) -> None:
    with pytest.raises(ConfigurationError):
        MongoBackend()
    with pytest.raises(ConfigurationError):
        MongoBackend(collection, url="mongodb://localhost/db")


class Unreachable(Proxy):
    def __getattr__(self, name: str) -> Any:
        if name in {"find", "find_one", "find_one_and_update", "update_many", "update_one"}:

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise ServerSelectionTimeoutError("localhost:27017: connection refused")

            return fail
        return super().__getattr__(name)


def test_connection_failures_become_backend_unavailable() -> None:
    backend = MongoBackend(Unreachable(mongomock.MongoClient().db.coll))  # type: ignore[arg-type]
    with pytest.raises(BackendUnavailableError):
        backend.apply([Op(bucket("a"), 1)])
    with pytest.raises(BackendUnavailableError):
        backend.read([bucket("a")])
    with pytest.raises(BackendUnavailableError):
        backend.delete([bucket("a")])


def test_unreachable_server_from_url() -> None:
    # Real pymongo, nothing listens on port 1: fails fast, no credentials shown.
    url = "mongodb://bob:s3cret@127.0.0.1:1/db?serverSelectionTimeoutMS=50&connectTimeoutMS=50"
    with pytest.raises(BackendUnavailableError) as info:
        MongoBackend.from_url(url)
    assert "s3cret" not in str(info.value)


def test_missing_pymongo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "quota_kit.backends.mongodb")
    monkeypatch.setitem(sys.modules, "pymongo", None)
    with pytest.raises(MissingDependencyError, match=r"quota-kit\[mongo\]"):
        importlib.import_module("quota_kit.backends.mongodb")


# -- URLs -----------------------------------------------------------------------------------


class FakeClients:
    """Stands in for pymongo.MongoClient: records URLs, hands out mongomock clients."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.closed = 0

    def __call__(self, url: str, **kwargs: Any) -> Any:
        self.urls.append(url)
        client = mongomock.MongoClient()
        real_close = client.close

        def close() -> None:
            self.closed += 1
            real_close()

        client.close = close
        return client


@pytest.fixture
def fake_clients(monkeypatch: pytest.MonkeyPatch) -> FakeClients:
    fake = FakeClients()
    monkeypatch.setattr(pymongo, "MongoClient", fake)
    return fake


@pytest.mark.parametrize(
    ("url", "client_url", "database", "collection"),
    [
        (
            "mongodb://localhost:27017/mydb?collection=quotas&w=majority",
            "mongodb://localhost:27017/mydb?w=majority",
            "mydb",
            "quotas",
        ),
        (
            "mongodb://h1:1,h2:2/mydb?replicaSet=rs0&collection=q&readPreference=primary",
            "mongodb://h1:1,h2:2/mydb?replicaSet=rs0&readPreference=primary",
            "mydb",
            "q",
        ),
        ("mongodb://localhost", "mongodb://localhost", "quota_kit", "quota_kit"),
        ("mongodb://localhost/", "mongodb://localhost/", "quota_kit", "quota_kit"),
        ("mongodb://localhost/?collection=c", "mongodb://localhost/", "quota_kit", "c"),
        ("mongodb://localhost?collection=c", "mongodb://localhost", "quota_kit", "c"),
        (
            "mongodb+srv://u:p%40ss@cluster0.example.net/prod?retryWrites=true&collection=keys",
            "mongodb+srv://u:p%40ss@cluster0.example.net/prod?retryWrites=true",
            "prod",
            "keys",
        ),
        (
            "mongodb://localhost/db?w=1;collection=c;journal=true",
            "mongodb://localhost/db?w=1;journal=true",
            "db",
            "c",
        ),
    ],
)
def test_from_url(
    fake_clients: FakeClients, url: str, client_url: str, database: str, collection: str
) -> None:
    backend = MongoBackend.from_url(url)
    assert fake_clients.urls == [client_url]
    assert backend.collection.database.name == database
    assert backend.collection.name == collection
    assert backend.apply([Op(bucket("a"), 1)]) == (True, [1])
    backend.close()
    backend.close()
    assert fake_clients.closed == 1


def test_backend_from_url_registry(fake_clients: FakeClients) -> None:
    backend = backend_from_url("mongodb://localhost/db?collection=c")
    assert isinstance(backend, MongoBackend)
    assert backend.collection.name == "c"
    srv = backend_from_url("mongodb+srv://cluster0.example.net/")
    assert isinstance(srv, MongoBackend)


def test_collection_name_keyword(fake_clients: FakeClients) -> None:
    backend = MongoBackend(url="mongodb://localhost/db", collection_name="mine")
    assert backend.collection.name == "mine"
    backend = MongoBackend(url="mongodb://localhost/db?collection=url", collection_name="mine")
    assert backend.collection.name == "url"


def test_repr_hides_credentials(fake_clients: FakeClients) -> None:
    backend = MongoBackend.from_url("mongodb://alice:s3cret@localhost/db?collection=c")
    text = repr(backend)
    assert "s3cret" not in text and "alice" not in text
    assert "'db'" in text and "'c'" in text


@pytest.mark.parametrize(
    "url",
    [
        "mongodb://alice:s3cret@host:notaport/db",  # pymongo: bad port
        "mongodb+srv://alice:s3cret@cluster0.example.net:27017/db",  # srv with a port
        "mongodb://alice:s3c@ret@host/db",  # unescaped '@' in the password
        "mongodb://alice:s3cret@/db",  # no host
        "mongodb:///db",
        "redis://alice:s3cret@localhost:6379/0",  # not a MongoDB scheme
        "not a url",
        "mongodb://alice:s3cret@host/db?collection=",  # empty collection
        "mongodb://alice:s3cret@host/db/extra",  # not a database name
        "mongodb://alice:s3cret@host/bad.db",  # invalid database name
        "mongodb://alice:s3cret@host/db?collection=a$b",  # invalid collection name
    ],
)
def test_bad_urls(url: str) -> None:
    # Real pymongo here: each URL must fail before any connection attempt.
    with pytest.raises(ConfigurationError) as info:
        MongoBackend.from_url(url)
    assert "s3cret" not in str(info.value)
