"""Redis-specific tests of RedisBackend, against a real server.

The server is the session-wide one from tests/conftest.py: QUOTA_KIT_REDIS_URL
if set, else a throw-away redis-server. Without one the tests skip locally and
fail under CI=true. Every test uses its own key prefix, so a shared server is fine.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from quota_kit.backends import backend_from_url
from quota_kit.backends.base import Bucket, Op
from quota_kit.backends.memory import MemoryBackend
from quota_kit.backends.redis import RedisBackend
from quota_kit.errors import BackendUnavailableError, ConfigurationError
from tests.support.redis_server import counting_client

pytestmark = pytest.mark.redis

HOUR = 3600


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to the test; its keys are removed afterwards."""
    value = f"qkt-{uuid.uuid4().hex[:12]}:"
    yield value
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{value}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[Any]:
    """A plain client to look at the server behind the backend's back."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def backend(redis_url: str, prefix: str) -> Iterator[RedisBackend]:
    b = RedisBackend(url=redis_url, prefix=prefix)
    yield b
    b.close()


def _bucket(name: str, partition: str = "acct-1", ttl: int = HOUR) -> Bucket:
    return Bucket(partition=partition, name=name, expires_at=int(time.time()) + ttl)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- key layout ------------------------------------------------------------------


def test_key_layout_uses_the_partition_as_hash_tag(
    backend: RedisBackend, raw: Any, prefix: str
) -> None:
    b1, b2 = _bucket("tokens:day"), _bucket("requests:minute")
    assert backend.apply([Op(b1, 7), Op(b2, 1)]) == (True, [7, 1])

    k1, k2 = f"{prefix}{{acct-1}}:tokens:day", f"{prefix}{{acct-1}}:requests:minute"
    assert backend.key(b1) == k1
    assert sorted(raw.keys(f"{prefix}*")) == sorted([k1, k2])
    assert raw.get(k1) == "7"
    assert key_slot(k1.encode()) == key_slot(k2.encode()) == key_slot(b"acct-1")


def test_prefix_with_braces_is_refused(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="brace"):
        RedisBackend(url=redis_url, prefix="app{x}:")


# --- expiry ----------------------------------------------------------------------


def test_expireat_is_bucket_expires_at(backend: RedisBackend, raw: Any) -> None:
    add, mx = _bucket("a", ttl=2 * HOUR), _bucket("m", ttl=5 * HOUR)
    backend.apply([Op(add, 3), Op(mx, 10, mode="max")])
    for bucket in (add, mx):
        expected_ms = (bucket.expires_at - time.time()) * 1000
        # EXPIREAT has whole-second resolution; allow for it and for slow machines.
        assert abs(raw.pttl(backend.key(bucket)) - expected_ms) < 2500

    # A later write moves the expiry to the new bucket.expires_at.
    later = Bucket(add.partition, add.name, add.expires_at + HOUR)
    backend.apply([Op(later, 1)])
    expected_ms = (later.expires_at - time.time()) * 1000
    assert abs(raw.pttl(backend.key(later)) - expected_ms) < 2500


def test_expires_at_in_the_past_reads_as_zero(backend: RedisBackend, raw: Any) -> None:
    gone = _bucket("old", ttl=-10)
    assert backend.apply([Op(gone, 5)]) == (True, [5])  # like MemoryBackend
    assert raw.exists(backend.key(gone)) == 0
    assert backend.read([gone]) == [0]


# --- guards ----------------------------------------------------------------------


def test_refused_batch_writes_nothing(backend: RedisBackend, raw: Any) -> None:
    a, b = _bucket("a", ttl=HOUR), _bucket("b")
    assert backend.apply([Op(a, 5)]) == (True, [5])
    ttl_before = raw.pttl(backend.key(a))

    a_later = Bucket(a.partition, a.name, a.expires_at + 10 * HOUR)
    applied = backend.apply([Op(a_later, 1, limit=100), Op(b, 10, limit=9)])

    assert applied == (False, [5, 0])
    assert raw.get(backend.key(a)) == "5"
    assert raw.exists(backend.key(b)) == 0
    assert abs(raw.pttl(backend.key(a)) - ttl_before) < 2500  # expiry untouched
    assert backend.read([a, b]) == [5, 0]


def test_guard_at_the_limit_passes_and_max_is_unguarded(backend: RedisBackend) -> None:
    a, m = _bucket("a"), _bucket("m")
    assert backend.apply([Op(a, 10, limit=10), Op(m, 50, limit=1, mode="max")]) == (
        True,
        [10, 50],
    )
    assert backend.apply([Op(a, 1, limit=10)]) == (False, [10])
    assert backend.apply([Op(a, -4, limit=10), Op(m, 20, mode="max")]) == (True, [6, 50])


def test_same_results_as_memory_backend(backend: RedisBackend) -> None:
    rng = random.Random(20240601)
    memory = MemoryBackend()
    buckets = [_bucket(f"b{i}", partition=f"p{i % 3}") for i in range(9)]
    for _ in range(400):
        partition = rng.choice(["p0", "p1", "p2"])
        pool = [b for b in buckets if b.partition == partition]
        chosen = rng.sample(pool, rng.randint(0, len(pool)))
        ops = [
            Op(
                b,
                rng.randint(-3, 12),
                limit=rng.choice([None, rng.randint(0, 60)]),
                mode=rng.choice(["add", "add", "max"]),
            )
            for b in chosen
        ]
        assert backend.apply(ops) == memory.apply(ops)
        assert backend.read(buckets) == memory.read(buckets)
    gone = buckets[::2]
    backend.delete(gone)
    memory.delete(gone)
    assert backend.read(buckets) == memory.read(buckets)


def test_batch_spanning_partitions_is_refused(backend: RedisBackend) -> None:
    with pytest.raises(ValueError, match="partitions"):
        backend.apply([Op(_bucket("a", "p1"), 1), Op(_bucket("a", "p2"), 1)])


def test_decode_responses_client(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    backend = RedisBackend(client, prefix=prefix)
    b = _bucket("x")
    assert backend.apply([Op(b, 2), Op(_bucket("y"), 4, mode="max")]) == (True, [2, 4])
    assert backend.apply([Op(b, 5, limit=3)]) == (False, [2])
    assert backend.read([b, _bucket("missing")]) == [2, 0]
    backend.close()
    client.close()


def test_values_beyond_32_bits(backend: RedisBackend) -> None:
    b = _bucket("big")
    big = 3 * 2**40 + 1
    assert backend.apply([Op(b, big)]) == (True, [big])
    assert backend.apply([Op(b, 1, limit=big + 1)]) == (True, [big + 1])
    assert backend.read([b]) == [big + 1]


# --- read / delete / empty calls -------------------------------------------------


def test_read_delete_and_empty_calls(backend: RedisBackend, raw: Any) -> None:
    a, b, other = _bucket("a"), _bucket("b"), _bucket("c", partition="acct-2")
    backend.apply([Op(a, 1), Op(b, 2)])
    backend.apply([Op(other, 3)])
    assert backend.read([other, a, _bucket("nope"), b]) == [3, 1, 0, 2]
    backend.delete([a, other])
    assert backend.read([a, b, other]) == [0, 2, 0]
    assert backend.apply([]) == (True, [])
    assert backend.read([]) == []
    backend.delete([])


# --- URLs ------------------------------------------------------------------------


def test_from_url_with_prefix_parameter(redis_url: str, prefix: str, raw: Any) -> None:
    sep = "&" if "?" in redis_url else "?"
    url = f"{redis_url}{sep}socket_timeout=5&prefix={prefix}&health_check_interval=0"
    backend = backend_from_url(url)
    try:
        assert isinstance(backend, RedisBackend)
        assert backend.prefix == prefix
        assert backend.client.connection_pool.connection_kwargs["socket_timeout"] == 5.0
        b = _bucket("via-url")
        assert backend.apply([Op(b, 4)]) == (True, [4])
        assert raw.get(f"{prefix}{{acct-1}}:via-url") == "4"
    finally:
        backend.close()


def test_from_url_default_prefix(redis_url: str) -> None:
    backend = RedisBackend.from_url(redis_url)
    assert backend.prefix == "quota_kit:"
    backend.close()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://localhost:6379/0", "scheme"),
        ("unix:///tmp/redis.sock", "scheme"),
        ("redis://localhost:notaport/0", "invalid Redis URL"),
        ("redis://localhost:6379/zero", "database number"),
        ("redis://localhost:6379/0?socket_timeout=soon", "socket_timeout"),
        ("redis://localhost:6379/0?socket_timout=5", "unknown query parameter"),
        ("redis://localhost:6379/0?prefix=a:&prefix=b:", "prefix"),
        ("redis://localhost:6379/0?prefix=a{b}:", "brace"),
    ],
)
def test_bad_urls_raise_configuration_error(url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        RedisBackend.from_url(url)


def test_exactly_one_of_client_or_url(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        RedisBackend()
    client = redis.Redis.from_url(redis_url)
    with pytest.raises(ConfigurationError, match="exactly one"):
        RedisBackend(client, url=redis_url)
    client.close()


# --- errors and secrets ----------------------------------------------------------


def test_closed_port_raises_backend_unavailable() -> None:
    port = _closed_port()
    backend = RedisBackend.from_url(f"redis://user:s3cr3t-pw@127.0.0.1:{port}/0")
    assert "s3cr3t-pw" not in repr(backend)
    assert f"127.0.0.1:{port}" in repr(backend)
    b = _bucket("x")
    calls: list[Callable[[], object]] = [
        lambda: backend.apply([Op(b, 1)]),
        lambda: backend.read([b]),
        lambda: backend.delete([b]),
    ]
    for call in calls:
        with pytest.raises(BackendUnavailableError) as info:
            call()
        message = str(info.value)
        assert f"127.0.0.1:{port}" in message
        assert "s3cr3t-pw" not in message
        assert isinstance(info.value, ConnectionError)
    backend.close()


def test_bad_url_message_hides_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisBackend.from_url("redis://user:s3cr3t-pw@localhost:6379/nodb")
    assert "s3cr3t-pw" not in str(info.value)
    assert "***" in str(info.value)


# --- ownership -------------------------------------------------------------------


def test_close_leaves_a_passed_in_client_alone(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.Redis.from_url(redis_url)
    closed: list[bool] = []
    monkeypatch.setattr(client, "close", lambda: closed.append(True))
    RedisBackend(client, prefix=prefix).close()
    assert closed == []

    owned = RedisBackend(url=redis_url, prefix=prefix)
    monkeypatch.setattr(owned.client, "close", lambda: closed.append(True))
    owned.close()
    assert closed == [True]


# --- round trips -----------------------------------------------------------------


def test_apply_and_read_of_100_buckets_cost_one_round_trip_each(
    redis_url: str, prefix: str
) -> None:
    client, counts = counting_client(redis_url)
    backend = RedisBackend(client, prefix=prefix)
    buckets = [_bucket(f"b{i}") for i in range(100)]

    # Warm-up: connection handshake and SCRIPT LOAD happen here.
    backend.apply([Op(buckets[0], 0)])
    backend.read(buckets[:1])

    counts.update(sent=0, replies=0)
    applied, values = backend.apply([Op(b, i, limit=1000) for i, b in enumerate(buckets)])
    assert applied and values == list(range(100))
    assert counts == {"sent": 1, "replies": 1}

    counts.update(sent=0, replies=0)
    assert backend.read(buckets) == list(range(100))
    assert counts == {"sent": 1, "replies": 1}

    counts.update(sent=0, replies=0)
    assert backend.apply([Op(b, 1000, limit=1000) for b in buckets])[0] is False
    backend.delete(buckets)
    assert counts == {"sent": 2, "replies": 2}

    counts.update(sent=0, replies=0)
    backend.apply([])
    backend.read([])
    backend.delete([])
    assert counts == {"sent": 0, "replies": 0}
    client.close()


def test_script_flush_is_survived(backend: RedisBackend, raw: Any) -> None:
    b = _bucket("x")
    backend.apply([Op(b, 1)])
    raw.script_flush()
    assert backend.apply([Op(b, 1)]) == (True, [2])
