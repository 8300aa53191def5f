"""Redis backend: buckets as plain integer keys, batches as one Lua script.

Layout
------
Each bucket is one Redis string key holding a decimal integer::

    {prefix}{{{partition}}}:{name}   e.g.  quota_kit:{k:groq/1}:k:groq/1|d20261203|tokens

The partition sits in curly braces, which makes it the Redis Cluster *hash tag*:
every bucket of one partition hashes to the same slot, so the buckets one
:meth:`RedisBackend.apply` batch touches (always one partition) are legal in one
script on a cluster too. The prefix must not contain braces, or it would change
the hash tag. (An empty partition gives an empty tag, which Redis Cluster ignores;
the tracker never uses one.)

Expiry
------
Every key written gets ``EXPIREAT key bucket.expires_at``. The tracker already
bakes "window end plus a grace period" into ``expires_at``, so Redis drops a
bucket on its own once nobody can ask for it any more; an expired key reads as 0,
just like :class:`~quota_kit.backends.memory.MemoryBackend`. A refused batch
touches no key, its expiry included.

Atomicity and round trips
-------------------------
* :meth:`~RedisBackend.apply` is one ``EVALSHA`` of a Lua script (registered with
  ``register_script``; redis-py loads it with ``SCRIPT LOAD`` on first use and
  again after a ``SCRIPT FLUSH`` or a server restart). The script reads every
  key, checks every guard, then writes all ops (``INCRBY`` for ``add``, ``SET``
  for a ``max`` that raises the value) or none. Redis runs a script without
  interleaving other commands, so the batch is atomic.
* :meth:`~RedisBackend.read` is one ``MGET``; :meth:`~RedisBackend.delete` one
  ``DEL``. Empty calls do no I/O.

Redis Cluster: ``apply()`` is cluster-safe thanks to the hash tag, but ``read()``
uses a single ``MGET`` (and ``delete()`` a single ``DEL``), which Redis Cluster
only allows when all keys share one slot, i.e. one partition. Cluster support
(grouping keys per node) comes later; today the backend targets a single Redis
server (or a primary with replicas / Sentinel-managed client).

Values are 64-bit integers on the server; the guard comparison runs in Lua
numbers (doubles), exact up to 2**53, far beyond any realistic quota.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import BackendUnavailableError, ConfigurationError, MissingDependencyError
from .base import Applied, Bucket, Op, check_one_partition

try:
    import redis
    import redis.connection
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("redis", "redis", "The Redis backend") from exc

__all__ = ["RedisBackend"]

DEFAULT_PREFIX = "quota_kit:"

# KEYS[i]: the key of op i. ARGV, four per op: mode ("add" / "max"), amount,
# limit ("" when unguarded), expires_at (Unix seconds).
# Returns {applied (1/0), value_1, ..., value_n}; values are the raw strings
# Redis stores (exact 64-bit integers), "0" for a missing key.
_APPLY_LUA = """
local n = #KEYS
local raw = {}
local ok = true
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if not v then v = '0' end
  raw[i] = v
  local b = (i - 1) * 4
  local limit = ARGV[b + 3]
  if ok and ARGV[b + 1] == 'add' and limit ~= '' then
    if tonumber(v) + tonumber(ARGV[b + 2]) > tonumber(limit) then
      ok = false
    end
  end
end
local out = {0}
if not ok then
  for i = 1, n do out[i + 1] = raw[i] end
  return out
end
out[1] = 1
for i = 1, n do
  local key = KEYS[i]
  local b = (i - 1) * 4
  local amount = ARGV[b + 2]
  if ARGV[b + 1] == 'add' then
    redis.call('INCRBY', key, amount)
  elseif tonumber(amount) > tonumber(raw[i]) then
    redis.call('SET', key, amount)
  end
  out[i + 1] = redis.call('GET', key) or '0'
  redis.call('EXPIREAT', key, ARGV[b + 4])
end
return out
"""

_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _redacted(url: str) -> str:
    """``url`` without password and query string, for error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _split_prefix(url: str) -> tuple[str, str | None]:
    """Remove the ``prefix=`` query parameter; return ``(url, prefix or None)``.

    The other parameters are kept byte for byte, in order.
    """
    parts = urlsplit(url)
    kept: list[str] = []
    prefixes: list[str] = []
    for item in parts.query.split("&") if parts.query else []:
        key, _, value = item.partition("=")
        if unquote(key.replace("+", " ")) == "prefix":
            prefixes.append(unquote(value.replace("+", " ")))
        elif item:
            kept.append(item)
    if len(prefixes) > 1:
        raise ConfigurationError(
            f"Redis URL {_redacted(url)!r} gives the prefix parameter {len(prefixes)} times"
        )
    stripped = urlunsplit(
        (parts.scheme.lower(), parts.netloc, parts.path, "&".join(kept), parts.fragment)
    )
    return stripped, (prefixes[0] if prefixes else None)


def _allowed_url_params(connection_class: type[Any]) -> set[str]:
    """Query parameter names redis-py can turn into connection/pool arguments."""
    names = set(redis.connection.URL_QUERY_ARGUMENT_PARSERS)
    for cls in (*connection_class.__mro__, redis.ConnectionPool):
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        try:
            names.update(inspect.signature(init).parameters)
        except (TypeError, ValueError):  # pragma: no cover - exotic classes
            continue
    names.discard("self")
    return names


def _client_from_url(url: str) -> redis.Redis:
    """Validate a ``redis://`` / ``rediss://`` URL (no ``prefix``) and build a client."""
    shown = _redacted(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise ConfigurationError(f"invalid Redis URL {shown!r}: {exc}") from exc
    if scheme not in ("redis", "rediss"):
        raise ConfigurationError(
            f"invalid Redis URL {shown!r}: the scheme must be redis:// or rediss://"
        )
    db = unquote(parts.path).strip("/")
    if db and not db.isdigit():
        raise ConfigurationError(
            f"invalid Redis URL {shown!r}: the path must be a database number, "
            f"as in redis://host:6379/0, not {parts.path!r}"
        )
    try:
        client = redis.Redis.from_url(url)
    except ValueError as exc:
        raise ConfigurationError(f"invalid Redis URL {shown!r}: {exc}") from exc
    user_params = {
        unquote(item.partition("=")[0].replace("+", " ")) for item in parts.query.split("&") if item
    }
    unknown = user_params - _allowed_url_params(client.connection_pool.connection_class)
    if unknown:
        client.close()
        raise ConfigurationError(
            f"invalid Redis URL {shown!r}: unknown query parameter(s) " + ", ".join(sorted(unknown))
        )
    return client


def _describe(client: redis.Redis) -> str:
    """Where ``client`` points, as ``redis://host:port/db``, never with credentials."""
    try:
        pool = client.connection_pool
        kwargs: dict[str, Any] = dict(pool.connection_kwargs)
        connection_class: type[Any] = pool.connection_class
    except AttributeError:  # pragma: no cover - a client without a plain pool
        return f"<{type(client).__name__}>"
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if issubclass(connection_class, redis.SSLConnection) else "redis"
    host = kwargs.get("host", "localhost")
    if ":" in str(host):
        host = f"[{host}]"
    return f"{scheme}://{host}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _int_arg(value: int) -> str:
    # operator.index refuses floats and strings instead of silently truncating.
    return str(operator.index(value))


class RedisBackend:
    """Buckets in Redis. URL: ``redis://[user:password@]host:6379/0`` or
    ``rediss://...`` (TLS), with an optional ``?prefix=myapp:`` query parameter;
    every other query parameter goes to :meth:`redis.Redis.from_url`.

    Pass either a ready ``client`` (which :meth:`close` leaves open; it may use
    ``decode_responses`` either way) or a ``url`` (the backend then owns the
    client and closes it). ``prefix`` starts every key; a ``prefix`` query
    parameter in ``url`` takes precedence over the default.

    Connection failures and timeouts raise
    :class:`~quota_kit.errors.BackendUnavailableError`.
    """

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        url: str | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        if (client is None) == (url is None):
            raise ConfigurationError("RedisBackend needs exactly one of client= or url=")
        if url is not None:
            if not isinstance(url, str):
                raise ConfigurationError(f"RedisBackend url must be a str, not {type(url)!r}")
            url, url_prefix = _split_prefix(url)
            if url_prefix is not None:
                if prefix not in (DEFAULT_PREFIX, url_prefix):
                    raise ConfigurationError(
                        f"RedisBackend got two prefixes: prefix={prefix!r} and "
                        f"?prefix={url_prefix} in the URL"
                    )
                prefix = url_prefix
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                f"invalid Redis key prefix {prefix!r}: it must be a str without braces, "
                "which Redis Cluster reads as a hash tag"
            )
        self.prefix = prefix
        self._owns_client = client is None
        if client is None:
            assert url is not None
            client = _client_from_url(url)
        self._client: redis.Redis = client
        self._where = _describe(self._client)
        self._apply_script = self._client.register_script(_APPLY_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisBackend:
        """Build a backend owning its client, e.g. ``redis://localhost:6379/0?prefix=app:``.

        Raises :class:`~quota_kit.errors.ConfigurationError` for a malformed URL.
        Nothing connects until the first call.
        """
        return cls(url=url)

    @property
    def client(self) -> redis.Redis:
        """The redis-py client in use."""
        return self._client

    def key(self, bucket: Bucket) -> str:
        """The Redis key of ``bucket``: ``{prefix}{{{partition}}}:{name}``."""
        return f"{self.prefix}{{{bucket.partition}}}:{bucket.name}"

    def _unavailable(self, exc: Exception) -> NoReturn:
        message = str(exc)
        password = self._password()
        if password:
            message = message.replace(password, "***")
        raise BackendUnavailableError(
            f"Redis at {self._where} is unavailable: {type(exc).__name__}: {message}"
        ) from exc

    def _password(self) -> str | None:
        try:
            password = self._client.connection_pool.connection_kwargs.get("password")
        except AttributeError:  # pragma: no cover
            return None
        return password if isinstance(password, str) else None

    def apply(self, ops: Sequence[Op]) -> Applied:
        check_one_partition(ops)
        if not ops:
            return True, []
        keys = [self.key(op.bucket) for op in ops]
        args: list[str] = []
        for op in ops:
            args += (
                "add" if op.mode == "add" else "max",
                _int_arg(op.amount),
                "" if op.limit is None else _int_arg(op.limit),
                _int_arg(op.bucket.expires_at),
            )
        try:
            reply = self._apply_script(keys=keys, args=args)
        except _CONNECTION_ERRORS as exc:
            self._unavailable(exc)
        return bool(int(reply[0])), [int(v) for v in reply[1:]]

    def read(self, buckets: Sequence[Bucket]) -> list[int]:
        if not buckets:
            return []
        try:
            raw: list[Any] = self._client.mget([self.key(b) for b in buckets])
        except _CONNECTION_ERRORS as exc:
            self._unavailable(exc)
        return [0 if v is None else int(v) for v in raw]

    def delete(self, buckets: Sequence[Bucket]) -> None:
        if not buckets:
            return
        try:
            self._client.delete(*[self.key(b) for b in buckets])
        except _CONNECTION_ERRORS as exc:
            self._unavailable(exc)

    def close(self) -> None:
        """Close the client if this backend created it from a URL."""
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"RedisBackend({self._where!r}, prefix={self.prefix!r})"
