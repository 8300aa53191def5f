"""Choosing a backend by URL, third-party backends, and lazy optional imports."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import quota_kit.tracker
from quota_kit import (
    ConfigurationError,
    MissingDependencyError,
    QuotaTracker,
    backend_from_url,
    get_quota_tracker,
    register_backend,
    set_quota_tracker,
)
from quota_kit.backends import DiskCacheBackend, MemoryBackend, registered_schemes
from quota_kit.backends.base import Applied, Bucket, Op, check_one_partition
from quota_kit.testing import StorageBackendConformance


class DictBackend:
    """What a third-party backend looks like: the whole protocol in a few lines."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def _get(self, b: Bucket) -> int:
        value, expires = self.data.get(b.name, (0, 0))
        return value if expires > time.time() else 0

    def apply(self, ops: Sequence[Op]) -> Applied:
        check_one_partition(ops)
        with self.lock:
            values = [self._get(op.bucket) for op in ops]
            if any(
                op.limit is not None and op.mode == "add" and v + op.amount > op.limit
                for op, v in zip(ops, values)
            ):
                return False, values
            after = [
                v + op.amount if op.mode == "add" else max(v, op.amount)
                for op, v in zip(ops, values)
            ]
            for op, v in zip(ops, after):
                self.data[op.bucket.name] = (v, op.bucket.expires_at)
            return True, after

    def read(self, buckets: Sequence[Bucket]) -> list[int]:
        with self.lock:
            return [self._get(b) for b in buckets]

    def delete(self, buckets: Sequence[Bucket]) -> None:
        with self.lock:
            for b in buckets:
                self.data.pop(b.name, None)

    def close(self) -> None:
        pass


class TestThirdPartyBackendConformance(StorageBackendConformance):
    @pytest.fixture
    def backend(self) -> DictBackend:
        return DictBackend()


def test_builtin_urls(tmp_path: Path) -> None:
    assert isinstance(backend_from_url("memory://"), MemoryBackend)
    disk = backend_from_url(f"diskcache://{tmp_path}/store")
    assert isinstance(disk, DiskCacheBackend) and disk.directory == f"{tmp_path}/store"
    assert {"memory", "diskcache", "redis", "rediss", "mongodb"} <= set(registered_schemes())


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosuch://x", "unknown backend scheme 'nosuch'"),
        ("localhost:6379", "invalid backend URL"),
        ("", "invalid backend URL"),
        ("diskcache://", "names no folder"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        backend_from_url(url)
    with pytest.raises(ConfigurationError, match=message):
        QuotaTracker(url)


def test_register_a_scheme() -> None:
    made: list[str] = []

    def factory(url: str) -> DictBackend:
        made.append(url)
        return DictBackend()

    register_backend("dictstore", factory)
    tracker = QuotaTracker("dictstore://anything")
    tracker.log_usage("groq", 1, tokens_used=5)
    assert made == ["dictstore://anything"]
    assert tracker.get_today_usage("groq", 1)["tokens_used"] == 5
    with pytest.raises(ConfigurationError, match="invalid URL scheme"):
        register_backend("bad scheme", factory)


def test_a_non_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a URL or a StorageBackend"):
        QuotaTracker(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "module", "package", "extra"),
    [
        ("redis://localhost:6379/0", "quota_kit.backends.redis", "redis", "redis"),
        ("mongodb://localhost/db", "quota_kit.backends.mongodb", "pymongo", "mongo"),
    ],
)
def test_missing_extra_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, package: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(MissingDependencyError, match=rf"pip install 'quota-kit\[{extra}\]'"):
        backend_from_url(url)


def test_core_import_does_not_import_optional_packages() -> None:
    code = (
        "import sys, quota_kit; quota_kit.QuotaTracker('memory://').log_usage('a', 1, 1);"
        "print(sorted(m for m in ('redis', 'pymongo', 'hypothesis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_process_wide_tracker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(quota_kit.tracker, "_default", None)
    monkeypatch.setenv("QUOTA_KIT_BACKEND", f"diskcache://{tmp_path}")
    first = get_quota_tracker()
    assert isinstance(first.backend, DiskCacheBackend)
    assert get_quota_tracker() is first
    mine = QuotaTracker()
    set_quota_tracker(mine)
    assert get_quota_tracker() is mine
