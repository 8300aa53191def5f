"""MongoDB backend: one document per partition, updated atomically by pymongo.

Layout
------
Every partition (one API key, say) is **one document** of the collection::

    {
        "_id": "<partition>",
        "v":   {"<field>": <int>, ...},        # bucket values
        "x":   {"<field>": <datetime>, ...},   # each bucket's expiry (UTC)
        "exp": <datetime>,                     # the latest expiry of its buckets
    }

``<field>`` is the bucket name made a valid MongoDB field name: ``%``, ``.``,
``$`` (hence also a leading ``$``) and NUL are percent-encoded (``%25``,
``%2E``, ``%24``, ``%00``) and the empty name becomes ``%``. The mapping is
one-to-one, so distinct bucket names never share a field.

Why one document per partition
-------------------------------
MongoDB updates a single document atomically. Since every bucket that one
:meth:`MongoBackend.apply` batch may touch lives in the same partition, a
guarded multi-bucket batch is a single ``find_one_and_update`` whose filter
holds the guards (``value + amount <= limit``) and whose update holds the
``$inc``/``$max`` writes: it is all-or-nothing without transactions, so it also
works on a standalone server and under mongomock.

Expiry and memory
-----------------
A TTL index on ``exp`` (``expireAfterSeconds=0``) lets the server delete a
partition document once all its buckets have expired. It is created when the
backend is built; if that fails for lack of rights or because a different index
on ``exp`` exists, a warning is logged and the backend works without it.

An active partition never goes quiet enough for the TTL monitor, yet it gains a
field per minute window, so the backend prunes it: at most once per
``prune_interval`` seconds per partition and process, after a successful apply,
the fields whose expiry has passed are ``$unset``. The apply already returns the
document, so pruning costs no read, only that occasional write. A bucket whose
expiry has passed reads as 0 and is restarted from 0 by the next apply, pruned
or not.

Round trips
-----------
One per call: :meth:`~MongoBackend.apply` is one ``find_one_and_update``,
:meth:`~MongoBackend.read` one ``find``, :meth:`~MongoBackend.delete` one
``update_many``. A refused guarded apply costs two (the failed update, then a
read of the values to return). Rare paths cost more: a race between two first
inserts of the same partition document (the loser retries), a reused bucket name
whose expired value must first be cleared, or a ``max`` op with a negative
amount on a bucket that exists (the first attempt assumes a new bucket).

Testing
-------
``tests/test_mongodb_backend.py`` always runs under mongomock, and also against
a real server when ``QUOTA_KIT_MONGODB_URL`` is set (for example
``mongodb://localhost:27017/quota_kit_test``). mongomock does not make a
single-document update atomic across threads, so on a mongomock collection the
backend serialises its calls with a process-wide lock; a real pymongo collection
never takes that lock.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from ..errors import BackendUnavailableError, ConfigurationError, MissingDependencyError
from .base import Applied, Bucket, Op, check_one_partition, guards_pass

try:
    import pymongo
    from pymongo.collection import Collection
    from pymongo.errors import ConfigurationError as PyMongoConfigurationError
    from pymongo.errors import (
        ConnectionFailure,
        DuplicateKeyError,
        InvalidName,
        OperationFailure,
        PyMongoError,
        ServerSelectionTimeoutError,
    )
except ImportError as exc:
    raise MissingDependencyError("pymongo", "mongo", "The MongoDB backend") from exc

__all__ = ["MongoBackend", "field_name"]

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "quota_kit"
DEFAULT_COLLECTION = "quota_kit"

_UNAVAILABLE = (ConnectionFailure, ServerSelectionTimeoutError)
_ESCAPES = str.maketrans({"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"})
_UTC = timezone.utc

# mongomock evaluates a filter and applies the update in separate Python steps,
# so concurrent threads can interleave inside one "atomic" find_one_and_update.
# Calls on mongomock collections are serialised with this lock; calls on real
# pymongo collections never take it.
_MONGOMOCK_LOCK = threading.RLock()
_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last datetime Python has


def field_name(bucket_name: str) -> str:
    """The MongoDB field name that stores ``bucket_name`` (one-to-one).

    >>> field_name("k1.m$5%")
    'k1%2Em%245%25'
    """
    return bucket_name.translate(_ESCAPES) if bucket_name else "%"


def _when(unix: float) -> datetime:
    """A Unix time as a naive UTC datetime at BSON (millisecond) precision.

    Naive datetimes are UTC to pymongo, and mongomock compares them with its own
    naive UTC clock for the TTL index.
    """
    moment = datetime.fromtimestamp(min(unix, _LAST_SECOND), _UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _naive_utc(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(_UTC).replace(tzinfo=None)


def _live(expiries: Mapping[str, Any], field: str, now: datetime) -> bool:
    """Whether ``field`` counts as unexpired; mirrors the apply filter."""
    if field not in expiries:
        return True
    expiry = expiries[field]
    return isinstance(expiry, datetime) and _naive_utc(expiry) > now


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _subdoc(doc: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    sub = None if doc is None else doc.get(key)
    return sub if isinstance(sub, Mapping) else {}


def _is_mongomock(collection: object) -> bool:
    return type(collection).__module__.partition(".")[0] == "mongomock"


def _unset(fields: Sequence[str]) -> dict[str, str]:
    """``$unset`` argument removing the value and expiry of ``fields``."""
    unset = {f"v.{f}": "" for f in fields}
    unset.update({f"x.{f}": "" for f in fields})
    return unset


def _not_live(field: str, now: datetime) -> dict[str, Any]:
    """Filter: ``field``'s expiry has passed (or is not a date)."""
    return {f"x.{field}": {"$not": {"$gt": now}}}


class MongoBackend:
    """Buckets in a MongoDB collection, one document per partition.

    Build it over a collection you own (it is never closed by :meth:`close`)::

        MongoBackend(pymongo.MongoClient(...).mydb.quota)
        MongoBackend(mongomock.MongoClient().db.coll)      # tests

    or from a URL, ``mongodb://host:27017/db`` or ``mongodb+srv://host/db``. The
    URL path names the database (``quota_kit`` when absent); the query option
    ``collection=NAME`` names the collection (else ``collection_name``) and is
    removed before the URL reaches :class:`pymongo.MongoClient`, which gets
    every other option. A client built from a URL is closed by :meth:`close`.

    ``prune_interval`` is how often, in seconds, each partition document is
    cleared of expired fields by this process. ``now`` returns the Unix time
    used to decide expiry (``time.time`` by default).
    """

    MAX_ATTEMPTS = 10
    """Rounds an apply may take on its slow paths before giving up."""

    _PRUNE_MEMORY = 100_000

    def __init__(
        self,
        collection: Collection[Any] | None = None,
        *,
        url: str | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        prune_interval: float = 3600.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if collection is not None and url is not None:
            raise ConfigurationError("MongoBackend takes a collection or a url, not both")
        if prune_interval < 0:
            raise ConfigurationError("prune_interval must be >= 0 seconds")
        self._now = now
        self._prune_interval = float(prune_interval)
        self._next_prune: dict[str, float] = {}
        self._secrets: list[str] = []
        self._client: pymongo.MongoClient[dict[str, Any]] | None = None
        if url is not None:
            collection = self._connect(url, collection_name)
        if collection is None:
            raise ConfigurationError("MongoBackend needs a collection or a url")
        self.collection: Collection[Any] = collection
        self._serial: AbstractContextManager[Any] = (
            _MONGOMOCK_LOCK if _is_mongomock(collection) else nullcontext()
        )
        try:
            self._ensure_ttl_index()
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> MongoBackend:
        """Build a backend from ``mongodb://`` or ``mongodb+srv://`` URL."""
        return cls(url=url)

    # -- setup --------------------------------------------------------------

    def _connect(self, url: str, collection_name: str) -> Collection[Any]:
        self._secrets = _url_secrets(url)
        client_url, db_name, coll_name = _split_url(url, collection_name, self._scrub)
        try:
            self._client = pymongo.MongoClient(client_url)
        except (PyMongoConfigurationError, ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid MongoDB URL {self._redact(url)}: {self._scrub(str(exc))}"
            ) from None
        try:
            return self._client.get_database(db_name).get_collection(coll_name)
        except (InvalidName, ValueError, TypeError) as exc:
            self.close()
            raise ConfigurationError(
                f"invalid MongoDB database or collection name in {self._redact(url)}: "
                f"{self._scrub(str(exc))}"
            ) from None

    def _ensure_ttl_index(self) -> None:
        try:
            with self._calling():
                self.collection.create_index([("exp", pymongo.ASCENDING)], expireAfterSeconds=0)
        except (OperationFailure, NotImplementedError) as exc:
            log.warning(
                "quota_kit: could not create the TTL index on %s.exp (%s); expired "
                "partition documents will not be deleted by the server",
                self.collection.name,
                self._scrub(str(exc)),
            )

    # -- the protocol -------------------------------------------------------

    def apply(self, ops: Sequence[Op]) -> Applied:
        check_one_partition(ops)
        if not ops:
            return True, []
        partition = ops[0].bucket.partition
        fields = [field_name(op.bucket.name) for op in ops]
        if len(set(fields)) != len(fields):
            raise ValueError("one apply() batch names the same bucket twice")
        now = self._now()
        now_dt = _when(now)
        # Fields of negative max ops believed missing (see _batch); new buckets
        # are the common case, so start by believing all of them missing.
        missing = {f for op, f in zip(ops, fields, strict=True) if _negative_max(op)}
        query, update, upsert = _batch(partition, ops, fields, now_dt, missing)
        prune = now >= self._next_prune.get(partition, 0.0)
        projection: dict[str, Any] = {f"v.{f}": 1 for f in fields}
        if prune:
            projection["x"] = 1
        read_projection = {**{f"v.{f}": 1 for f in fields}, **{f"x.{f}": 1 for f in fields}}
        coll = self.collection

        with self._calling():
            for _ in range(self.MAX_ATTEMPTS):
                try:
                    doc = coll.find_one_and_update(
                        query,
                        update,
                        projection=projection,
                        upsert=upsert,
                        return_document=pymongo.ReturnDocument.AFTER,
                    )
                except DuplicateKeyError:
                    # The document exists but the filter failed (a guard, an
                    # expired field), or a concurrent first insert won the race.
                    doc = None
                if doc is not None:
                    if prune:
                        self._prune(partition, doc, now, now_dt)
                    after = _subdoc(doc, "v")
                    return True, [_int(after.get(f)) for f in fields]

                # Not written. Find out why, from the current values.
                current = coll.find_one({"_id": partition}, projection=read_projection)
                values_now = _subdoc(current, "v")
                expiries = _subdoc(current, "x")
                values = [
                    _int(values_now.get(f)) if _live(expiries, f, now_dt) else 0 for f in fields
                ]
                if not guards_pass(ops, values):
                    return False, values
                stale = [f for f in fields if f in expiries and not _live(expiries, f, now_dt)]
                if stale:
                    # A reused bucket name whose old value expired: clear it, retry.
                    coll.update_one(
                        {"_id": partition, "$and": [_not_live(f, now_dt) for f in stale]},
                        {"$unset": _unset(stale)},
                    )
                    continue
                missing_now = {
                    f
                    for op, f in zip(ops, fields, strict=True)
                    if _negative_max(op) and f not in values_now
                }
                if missing_now != missing:
                    # A negative max op guessed wrong whether its bucket exists.
                    missing = missing_now
                    query, update, upsert = _batch(partition, ops, fields, now_dt, missing)
                    continue
                # The guards pass on the current values: we lost a race (two first
                # inserts, or a concurrent write between our update and read). Retry.
        raise BackendUnavailableError(
            f"apply() on partition {partition!r} kept conflicting with concurrent writes; "
            f"gave up after {self.MAX_ATTEMPTS} attempts"
        )

    def read(self, buckets: Sequence[Bucket]) -> list[int]:
        if not buckets:
            return []
        partitions = list(dict.fromkeys(b.partition for b in buckets))
        fields = [field_name(b.name) for b in buckets]
        projection: dict[str, Any] = {}
        for f in fields:
            projection[f"v.{f}"] = 1
            projection[f"x.{f}"] = 1
        now_dt = _when(self._now())
        with self._calling():
            docs = {
                doc["_id"]: doc
                for doc in self.collection.find({"_id": {"$in": partitions}}, projection)
            }
        result: list[int] = []
        for bucket, f in zip(buckets, fields, strict=True):
            doc = docs.get(bucket.partition)
            expiries = _subdoc(doc, "x")
            live = _live(expiries, f, now_dt)
            result.append(_int(_subdoc(doc, "v").get(f)) if live else 0)
        return result

    def delete(self, buckets: Sequence[Bucket]) -> None:
        if not buckets:
            return
        # Bucket names are unique across the store, so unsetting the union of the
        # fields in every named partition only ever removes the named buckets; one
        # update_many is one round trip.
        partitions = list(dict.fromkeys(b.partition for b in buckets))
        unset = _unset([field_name(b.name) for b in buckets])
        with self._calling():
            self.collection.update_many({"_id": {"$in": partitions}}, {"$unset": unset})

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- helpers ------------------------------------------------------------

    def _prune(self, partition: str, doc: Mapping[str, Any], now: float, now_dt: datetime) -> None:
        """Unset the expired fields of a partition document just returned by apply."""
        if len(self._next_prune) >= self._PRUNE_MEMORY:
            self._next_prune = {p: t for p, t in self._next_prune.items() if t > now}
        self._next_prune[partition] = now + self._prune_interval
        expiries = _subdoc(doc, "x")
        dead = [f for f in expiries if not _live(expiries, f, now_dt)]
        if not dead:
            return
        try:
            # The filter re-checks the expiries, so a field rewritten meanwhile
            # (a reused name) survives; the prune then waits for the next round.
            self.collection.update_one(
                {"_id": partition, "$and": [_not_live(f, now_dt) for f in dead]},
                {"$unset": _unset(dead)},
            )
        except PyMongoError as exc:
            # The batch itself was written; a failed clean-up must not report otherwise.
            log.warning(
                "quota_kit: pruning partition %r failed: %s", partition, self._scrub(str(exc))
            )

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around every use of the collection: serialise on mongomock, and turn
        connection failures into :class:`BackendUnavailableError`."""
        try:
            with self._serial:
                yield
        except _UNAVAILABLE as exc:
            raise BackendUnavailableError(
                f"MongoDB is unavailable: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from exc

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _redact(self, url: str) -> str:
        return repr(_redact_url(url))

    def __repr__(self) -> str:
        coll = self.collection
        return f"MongoBackend(database={coll.database.name!r}, collection={coll.name!r})"


def _negative_max(op: Op) -> bool:
    return op.mode == "max" and op.amount < 0


def _batch(
    partition: str,
    ops: Sequence[Op],
    fields: Sequence[str],
    now: datetime,
    missing: Set[str],
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The filter, the update and the upsert flag of one apply batch.

    ``missing`` holds the fields of the negative ``max`` ops believed not to
    exist. ``$max`` on a missing field stores the amount, but a missing bucket is
    0 and ``max(0, amount)`` is 0, so those ops write ``$max: 0`` on condition that
    the field is missing, and the others ``$max: amount`` on condition that it
    exists. A wrong belief fails the filter and the caller retries.
    """
    conditions: list[dict[str, Any]] = []
    inc: dict[str, int] = {}
    maxes: dict[str, Any] = {}
    upsert = True
    latest: datetime | None = None
    for op, f in zip(ops, fields, strict=True):
        value, expiry = f"v.{f}", f"x.{f}"
        # An expired value must not be built upon: such a field fails this test,
        # and the slow path clears it first.
        conditions.append({"$or": [{expiry: {"$exists": False}}, {expiry: {"$gt": now}}]})
        if op.mode == "add":
            inc[value] = op.amount
            if op.limit is not None:
                room = op.limit - op.amount
                if room >= 0:
                    conditions.append(
                        {"$or": [{value: {"$exists": False}}, {value: {"$lte": room}}]}
                    )
                else:
                    # Cannot fit from 0: only a negative stored value makes room,
                    # and an upsert would insert (and admit) when none exists.
                    conditions.append({value: {"$lte": room}})
                    upsert = False
        else:
            if not _negative_max(op):
                maxes[value] = op.amount
            elif f in missing:
                maxes[value] = 0
                conditions.append({value: {"$exists": False}})
            else:
                maxes[value] = op.amount
                conditions.append({value: {"$exists": True}})
                upsert = False
        when = _when(op.bucket.expires_at)
        maxes[expiry] = when
        latest = when if latest is None else max(latest, when)
    maxes["exp"] = latest
    update: dict[str, Any] = {"$max": maxes}
    if inc:
        update["$inc"] = inc
    return {"_id": partition, "$and": conditions}, update, upsert


# -- URLs -------------------------------------------------------------------


def _userinfo(url: str) -> str:
    _, _, rest = url.partition("://")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return netloc.rpartition("@")[0]


def _url_secrets(url: str) -> list[str]:
    """The credential strings of a URL, longest first, to scrub from messages."""
    userinfo = _userinfo(url)
    if not userinfo:
        return []
    secrets = {userinfo, unquote(userinfo)}
    _, _, password = userinfo.partition(":")
    if password:
        secrets |= {password, unquote(password), unquote_plus(password)}
    return sorted((s for s in secrets if s), key=len, reverse=True)


def _redact_url(url: str) -> str:
    userinfo = _userinfo(url)
    return url.replace(userinfo + "@", "***@", 1) if userinfo else url


def _split_url(url: str, collection_name: str, scrub: Callable[[str], str]) -> tuple[str, str, str]:
    """``(url for MongoClient, database, collection)`` from a backend URL."""
    shown = repr(_redact_url(url))
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(f"invalid MongoDB URL {shown}: {scrub(str(exc))}") from None
    if parts.scheme.lower() not in ("mongodb", "mongodb+srv") or not parts.netloc:
        raise ConfigurationError(
            f"invalid MongoDB URL {shown}: expected mongodb://host[:port][/database] "
            "or mongodb+srv://host[/database]"
        )
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if "/" in database:
        raise ConfigurationError(f"invalid MongoDB URL {shown}: bad database name")
    base, qmark, query = url.partition("?")
    collection = collection_name
    if qmark:
        separator = ";" if ";" in query and "&" not in query else "&"
        kept: list[str] = []
        for item in re.split(r"[&;]", query):
            key, _, value = item.partition("=")
            if unquote_plus(key).lower() == "collection":
                collection = unquote_plus(value)
                if not collection:
                    raise ConfigurationError(
                        f"invalid MongoDB URL {shown}: empty 'collection' option"
                    )
            elif item:
                kept.append(item)
        url = base + ("?" + separator.join(kept) if kept else "")
    if not collection:
        raise ConfigurationError("the MongoDB collection name must not be empty")
    return url, database or DEFAULT_DATABASE, collection
