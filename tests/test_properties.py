"""Property-based tests (Hypothesis).

Part A checks the pure building blocks against facts computed independently here:
day windows in awkward timezones (30-minute DST, 45-minute offsets, reset times
inside DST gaps and folds), minute windows, statuses and threshold crossings
(exact integer arithmetic, never the library's own helpers).

Part B runs a stateful model check of :class:`QuotaTracker` on every backend:
random writes (``log_usage``, ``try_consume``), reads, and clock moves, including
jumps exactly onto window boundaries and around DST changes, compared after every
step with a plain-Python model of what each window must hold.

All fake instants are at or after ``START`` (2031): Redis and diskcache expire keys
by the real clock.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from quota_kit import ConfigurationError, FakeClock, QuotaTracker, ThresholdEvent, Thresholds
from quota_kit.layout import key_counters
from quota_kit.status import crossed_levels, status_for
from quota_kit.windows import DailyReset, minute_window
from tests.conftest import START, BackendFactory

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
DAY = timedelta(hours=24)
LEVEL_RANK = {"healthy": 0, "warning": 1, "critical": 2, "exhausted": 3}

PURE = settings(max_examples=1000, deadline=None, database=None)

# ======================================================================= helpers


def iso(when: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, computed without the library's ``to_iso``."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def quarters(pct: float) -> int:
    """A threshold given in quarter percents (every threshold used here is k/4 %)."""
    q = pct * 4
    assert q == int(q), pct
    return int(q)


def expected_status(used: int, limit: int, q: tuple[int, int, int]) -> str:
    """Status by integer arithmetic: level reached iff used/limit >= (q/4) %,
    i.e. ``400 * used >= q * limit``."""
    warning, critical, exhausted = q
    if 400 * used >= exhausted * limit:
        return "exhausted"
    if 400 * used >= critical * limit:
        return "critical"
    if 400 * used >= warning * limit:
        return "warning"
    return "healthy"


# ================================================================ A. pure: windows

# zone -> its DST shift (0 when it has none after 2031)
ZONE_SHIFT = {
    "UTC": timedelta(0),
    "America/Los_Angeles": timedelta(hours=1),
    "Europe/London": timedelta(hours=1),
    "Australia/Lord_Howe": timedelta(minutes=30),
    "Asia/Kathmandu": timedelta(0),
    "Pacific/Chatham": timedelta(hours=1),
    "America/St_Johns": timedelta(hours=1),
}
ZONES = sorted(ZONE_SHIFT)

# Wall-clock times at, inside and around the DST gaps and folds of those zones
# (LA/St John's 02:00, London 01:00, Lord Howe 02:00 +-30 min, Chatham 02:45/03:45).
TRICKY_TIMES = [
    time(0, 0),
    time(0, 30),
    time(1, 0),
    time(1, 30),
    time(1, 45),
    time(2, 0),
    time(2, 15),
    time(2, 30),
    time(2, 45),
    time(3, 0),
    time(3, 15),
    time(3, 30),
    time(3, 45),
    time(23, 59, 59, 999999),
    time(12, 0),
]
reset_times = st.one_of(st.sampled_from(TRICKY_TIMES), st.times())


@functools.cache
def transitions(zone_name: str, first: int = 2031, last: int = 2036) -> tuple[datetime, ...]:
    """The UTC instants (to the second) where the zone's UTC offset changes."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    t = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    before = t.astimezone(zone).utcoffset()
    while t < end:
        n = t + DAY
        after = n.astimezone(zone).utcoffset()
        if after != before:
            lo, hi = t, n  # offset(lo) == before, offset(hi) == after
            while hi - lo > timedelta(seconds=1):
                mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
                if mid.astimezone(zone).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        t, before = n, after
    return tuple(found)


uniform_instants = st.datetimes(
    min_value=datetime(2031, 1, 1),
    max_value=datetime(2100, 12, 31),
    timezones=st.just(UTC),
)
small_offsets = st.one_of(
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
    st.integers(-3, 3).map(lambda n: n * ONE_US),
    st.integers(-120, 120).map(lambda n: timedelta(minutes=n)),
)


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    near = transitions(zone)
    use_near: bool = draw(st.booleans())
    if near and use_near:
        t = draw(st.sampled_from(near)) + draw(small_offsets)
    else:
        t = draw(uniform_instants)
    return zone, t


def allowed_lengths(zone: str) -> set[timedelta]:
    shift = ZONE_SHIFT[zone]
    return {DAY - shift, DAY, DAY + shift}


@PURE
@given(zi=zone_and_instant(), reset=reset_times, view=st.sampled_from(ZONES))
def test_day_window_contains_instant_and_tiles_time(
    zi: tuple[str, datetime], reset: time, view: str
) -> None:
    zone, t = zi
    policy = DailyReset(zone, reset)
    w = policy.window_at(t)
    note(f"{policy} t={t} w={w}")

    assert w.kind == "day"
    assert w.start.utcoffset() == timedelta(0) and w.end.utcoffset() == timedelta(0)
    assert w.start <= t < w.end and w.contains(t)
    # the same instant expressed in another zone names the same window
    assert policy.window_at(t.astimezone(ZoneInfo(view))) == w

    # length: 24 h, or 24 h +- the zone's DST shift
    assert w.end - w.start in allowed_lengths(zone), w.end - w.start
    if zone == "America/Los_Angeles":
        assert w.end - w.start in {timedelta(hours=h) for h in (23, 24, 25)}

    # both edges: the start belongs to the window, the end to the next one
    assert policy.window_at(w.start) == w
    assert policy.window_at(w.end - ONE_US) == w
    nxt = policy.window_at(w.end)
    prev = policy.window_at(w.start - ONE_US)
    assert nxt.start == w.end, "a new window must start exactly at the boundary"
    assert prev.end == w.start, "no gap or overlap with the previous window"
    assert nxt.label != w.label != prev.label

    # labels name the local calendar day of the reset, and consecutive windows
    # are consecutive days (no day skipped or repeated)
    local_day = w.start.astimezone(ZoneInfo(zone)).date()
    assert w.label == f"d{local_day:%Y%m%d}"
    assert nxt.label == f"d{local_day + timedelta(days=1):%Y%m%d}"
    assert prev.label == f"d{local_day - timedelta(days=1):%Y%m%d}"


@PURE
@given(
    zone=st.sampled_from(ZONES), reset=reset_times, day=st.dates(date(2031, 1, 1), date(2099, 1, 1))
)
def test_day_windows_are_adjacent_over_a_week(zone: str, reset: time, day: date) -> None:
    policy = DailyReset(zone, reset)
    w = policy.window_at(datetime.combine(day, time(12), tzinfo=UTC))
    labels = [w.label]
    for _ in range(8):
        nxt = policy.window_at(w.end)
        assert nxt.start == w.end
        assert nxt.end - nxt.start in allowed_lengths(zone)
        assert policy.window_at(nxt.end - ONE_US) == nxt
        w = nxt
        labels.append(w.label)
    assert len(set(labels)) == len(labels) and labels == sorted(labels)


@PURE
@given(zone=st.sampled_from([z for z in ZONES if ZONE_SHIFT[z]]), reset=reset_times)
def test_each_dst_change_makes_exactly_one_shorter_or_longer_day(zone: str, reset: time) -> None:
    """Of the three windows from the one holding ``transition - 24 h``, exactly one
    lasts ``24 h - delta`` (delta: the change of UTC offset) and the others 24 h.

    With a reset time inside the DST gap, the short window is the one after the
    window holding the transition, so "the window holding it" is not asserted."""
    policy = DailyReset(zone, reset)
    zone_info = ZoneInfo(zone)
    for tr in transitions(zone):
        offset_after = tr.astimezone(zone_info).utcoffset()
        offset_before = (tr - ONE_US).astimezone(zone_info).utcoffset()
        assert offset_after is not None and offset_before is not None
        delta = offset_after - offset_before
        assert abs(delta) == ZONE_SHIFT[zone]
        w0 = policy.window_at(tr - DAY)
        w1 = policy.window_at(w0.end)
        w2 = policy.window_at(w1.end)
        lengths = [w.end - w.start for w in (w0, w1, w2)]
        note(f"transition {tr} delta={delta} windows={[(w.start, w.end) for w in (w0, w1, w2)]}")
        assert w0.start <= tr < w2.end
        assert [x for x in lengths if x != DAY] == [DAY - delta]


@PURE
@given(
    t=st.one_of(
        uniform_instants, uniform_instants.map(lambda d: d.replace(second=0, microsecond=0))
    )
)
def test_minute_window(t: datetime) -> None:
    w = minute_window(t)
    assert w.kind == "minute"
    assert w.start <= t < w.end
    assert w.start.second == 0 and w.start.microsecond == 0
    assert w.end - w.start == timedelta(seconds=60)
    n = (t - EPOCH) // timedelta(minutes=1)
    assert w.start == EPOCH + n * timedelta(minutes=1)
    assert w.label == f"m{n}"
    assert minute_window(w.end - ONE_US) == w
    nxt = minute_window(w.end)
    assert nxt.start == w.end and nxt.label == f"m{n + 1}"


# ================================================================= A. pure: status

DEFAULT_Q = (300, 360, 400)  # 75 %, 90 %, 100 % in quarter percents


@st.composite
def quarter_thresholds(draw: st.DrawFn) -> tuple[Thresholds, tuple[int, int, int]]:
    """Custom thresholds that are exact binary fractions (k/4 %)."""
    q = draw(st.lists(st.integers(1, 400), min_size=3, max_size=3, unique=True).map(sorted))
    th = Thresholds(warning=q[0] / 4, critical=q[1] / 4, exhausted=q[2] / 4)
    return th, (q[0], q[1], q[2])


any_thresholds = st.one_of(st.just((Thresholds(), DEFAULT_Q)), quarter_thresholds())
limits = st.one_of(st.integers(0, 20), st.integers(0, 10**6), st.sampled_from([100, 14400, 10**15]))


@PURE
@given(limit=limits, data=st.data())
def test_default_status_boundaries_exact(limit: int, data: st.DataObject) -> None:
    used = data.draw(
        st.one_of(
            st.integers(0, 2 * limit + 5),
            # the exact threshold points and their neighbours
            st.sampled_from(
                [limit * p // 100 + d for p in (75, 90, 100) for d in (-1, 0, 1)]
            ).filter(lambda u: u >= 0),
        )
    )
    status = status_for(used, limit, Thresholds())
    if 100 * used >= 100 * limit:
        want = "exhausted"
    elif 100 * used >= 90 * limit:
        want = "critical"
    elif 100 * used >= 75 * limit:
        want = "warning"
    else:
        want = "healthy"
    assert status == want


@PURE
@given(limit=limits, th=any_thresholds, a=st.integers(0, 3 * 10**6), b=st.integers(0, 3 * 10**6))
def test_status_matches_integer_thresholds_and_is_monotonic(
    limit: int, th: tuple[Thresholds, tuple[int, int, int]], a: int, b: int
) -> None:
    thresholds, q = th
    lo, hi = sorted((a % (2 * limit + 3), b % (2 * limit + 3)))
    s_lo, s_hi = status_for(lo, limit, thresholds), status_for(hi, limit, thresholds)
    assert s_lo == expected_status(lo, limit, q)
    assert s_hi == expected_status(hi, limit, q)
    assert LEVEL_RANK[s_lo] <= LEVEL_RANK[s_hi]


# Regression: `reached` used to compare through Fraction(percent), the exact
# value of the binary float (Fraction(0.1) = 0.1000000000000000055...), so with
# warning=0.1, 1 of 1000 used (exactly 0.1 %) was "healthy" and fired no event.
# Thresholds must be read as the decimal the user wrote.
def test_status_with_one_decimal_thresholds_exact() -> None:
    limit = 1000
    wrong = []
    for tenths in range(1, 995):  # every threshold 0.1 %, 0.2 %, ..., 99.4 %
        thresholds = Thresholds(warning=tenths / 10, critical=99.5, exhausted=100)
        # integer arithmetic: used/limit >= (tenths/10) % <=> 1000 * used >= tenths * limit
        for used in (tenths - 1, tenths):
            want = "warning" if 1000 * used >= tenths * limit else "healthy"
            got = status_for(used, limit, thresholds)
            if got != want:
                wrong.append((tenths / 10, used, got, want))
    assert not wrong, (
        f"{len(wrong)} one-decimal thresholds misjudged at exactly the threshold, "
        f"e.g. (threshold %, used of 1000, got, want): {wrong[:5]}"
    )


@PURE
@given(
    limit=st.integers(1, 10**6),
    th=any_thresholds,
    increments=st.lists(
        st.one_of(st.integers(0, 50), st.integers(0, 10**6), st.just(0)), max_size=40
    ),
)
def test_crossed_levels_reported_once_at_the_first_write_reaching_them(
    limit: int, th: tuple[Thresholds, tuple[int, int, int]], increments: list[int]
) -> None:
    thresholds, q = th
    names = ("warning", "critical", "exhausted")
    reported: list[tuple[int, str, float]] = []
    total = 0
    for i, inc in enumerate(increments):
        got = crossed_levels(total, total + inc, limit, thresholds)
        reported += [(i, level, pct) for level, pct in got]
        total += inc
    expected: list[tuple[int, str, float]] = []
    for name, qi in zip(names, q):
        running = 0
        for i, inc in enumerate(increments):
            running += inc
            if 400 * running >= qi * limit:  # first write that reaches the level
                expected.append((i, name, qi / 4))
                break
    key = lambda r: (r[0], LEVEL_RANK[r[1]])  # noqa: E731
    assert sorted(reported, key=key) == sorted(expected, key=key)
    # reported exactly once overall iff the final total reaches the level
    for name, qi in zip(names, q):
        count = sum(1 for r in reported if r[1] == name)
        assert count == (1 if 400 * total >= qi * limit else 0)


@PURE
@given(
    limit=st.integers(0, 1000),
    th=any_thresholds,
    before=st.integers(0, 3000),
    after=st.integers(0, 3000),
)
def test_crossed_levels_single_write(
    limit: int, th: tuple[Thresholds, tuple[int, int, int]], before: int, after: int
) -> None:
    thresholds, q = th
    got = crossed_levels(before, after, limit, thresholds)
    want = [
        (name, qi / 4)
        for name, qi in zip(("warning", "critical", "exhausted"), q)
        if 400 * before < qi * limit <= 400 * after
    ]
    assert [(level, float(pct)) for level, pct in got] == want


# ============================================================ B. stateful, per backend


@dataclass(frozen=True)
class KeySpec:
    name: str
    provider: str
    key_id: int | str
    timezone: str
    reset: time
    limits: dict[tuple[str, str], int]  # (metric, window kind) -> limit
    log_allowed: bool  # False: only try_consume writes, so limits must always hold

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "provider": self.provider,
            "key_id": self.key_id,
            "reset_timezone": self.timezone,
            "reset_time": self.reset,
        }
        for (metric, kind), limit in self.limits.items():
            cfg[f"{metric}_per_{kind}"] = limit
        return cfg

    def limit(self, metric: str, kind: str) -> int | None:
        return self.limits.get((metric, kind))


KEYS = [
    # UTC key with a 07:00 reset and day + minute limits
    KeySpec(
        "utc",
        "openai",
        1,
        "UTC",
        time(7, 0),
        {("tokens", "day"): 1000, ("requests", "day"): 12, ("tokens", "minute"): 400},
        log_allowed=True,
    ),
    # Gemini-like key resetting at midnight Los Angeles, small so thresholds cross often
    KeySpec(
        "la",
        "gemini",
        "la-1",
        "America/Los_Angeles",
        time(0, 0),
        {("tokens", "day"): 100},
        log_allowed=True,
    ),
    # only ever written through try_consume: its counters must never exceed a limit
    KeySpec(
        "strict",
        "groq",
        3,
        "Australia/Lord_Howe",
        time(0, 0),
        {("tokens", "day"): 60, ("requests", "day"): 8, ("requests", "minute"): 2},
        log_allowed=False,
    ),
]
SPECS = {k.name: k for k in KEYS}
LOGGABLE = [k.name for k in KEYS if k.log_allowed]

# Instants around DST changes of the keys' zones (all after START).
DST_TARGETS = [
    datetime(2031, 3, 9, 10, 0, tzinfo=UTC),  # LA: 02:00 PST -> 03:00 PDT
    datetime(2031, 3, 10, 7, 0, tzinfo=UTC),  # LA: first midnight in PDT
    datetime(2031, 11, 2, 9, 0, tzinfo=UTC),  # LA: 02:00 PDT -> 01:00 PST
    datetime(2031, 4, 5, 15, 0, tzinfo=UTC),  # Lord Howe: DST ends (02:00 -> 01:30)
    datetime(2031, 10, 4, 15, 30, tzinfo=UTC),  # Lord Howe: DST starts (02:00 -> 02:30)
]

THRESHOLD_CHOICES = [
    None,  # default 75/90/100
    Thresholds(warning=50, critical=80, exhausted=100),
    Thresholds(warning=60, critical=87.5, exhausted=95),
]


def model_day(now: datetime, spec: KeySpec) -> tuple[date, datetime]:
    """(local day the window belongs to, UTC end of that window), from wall time.

    The keys' reset times are never inside a DST gap or fold, so the window of
    ``now`` is simply the local day of ``now - reset``."""
    zone = ZoneInfo(spec.timezone)
    wall = now.astimezone(zone).replace(tzinfo=None)
    day = wall.date() if wall.time() >= spec.reset else wall.date() - timedelta(days=1)
    end = datetime.combine(day + timedelta(days=1), spec.reset, tzinfo=zone).astimezone(UTC)
    return day, end


def model_minute(now: datetime) -> tuple[int, datetime]:
    n = (now - EPOCH) // timedelta(minutes=1)
    return n, EPOCH + (n + 1) * timedelta(minutes=1)


@dataclass
class MCounter:
    metric: str
    kind: str
    label: object
    limit: int | None
    resets: datetime


def make_machine(factory: BackendFactory) -> type[RuleBasedStateMachine]:
    class TrackerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.backend = factory.new()
            self.sums: dict[tuple[str, str, str, object], int] = {}
            self.events: list[ThresholdEvent] = []

        def teardown(self) -> None:
            self.backend.close()

        # ------------------------------------------------------------ set-up

        @initialize(
            thresholds=st.sampled_from(THRESHOLD_CHOICES),
            start=st.one_of(
                st.just(START),
                st.tuples(
                    st.sampled_from(DST_TARGETS),
                    st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30)),
                ).map(lambda p: p[0] + p[1]),
            ),
        )
        def setup(self, thresholds: Thresholds | None, start: datetime) -> None:
            note(f"backend={factory.kind} thresholds={thresholds} start={start}")
            self.clock = FakeClock(start)
            self.q: tuple[int, int, int] = (
                DEFAULT_Q
                if thresholds is None
                else (
                    quarters(thresholds.warning),
                    quarters(thresholds.critical),
                    quarters(thresholds.exhausted),
                )
            )
            self.tracker = QuotaTracker(
                self.backend,
                keys=[k.config() for k in KEYS],
                clock=self.clock,
                thresholds=thresholds,
                listeners=[self.events.append],
            )

        # ----------------------------------------------------------- model

        def counters(self, spec: KeySpec, now: datetime) -> list[MCounter]:
            """The counters a write to the key touches: day counters always,
            minute counters where limited."""
            day, day_end = model_day(now, spec)
            minute, minute_end = model_minute(now)
            out = []
            for kind, label, end in (("day", day, day_end), ("minute", minute, minute_end)):
                for metric in ("tokens", "requests"):
                    limit = spec.limit(metric, kind)
                    if kind == "day" or limit is not None:
                        out.append(MCounter(metric, kind, label, limit, end))
            return out

        def used(self, spec: KeySpec, c: MCounter) -> int:
            return self.sums.get((spec.name, c.metric, c.kind, c.label), 0)

        def info(self, spec: KeySpec, c: MCounter, used: int) -> dict[str, Any]:
            assert c.limit is not None
            return {
                "used": used,
                "limit": c.limit,
                "remaining": max(0, c.limit - used),
                "percentage": round(used * 100 / c.limit, 1) if c.limit else 100.0,
                "status": expected_status(used, c.limit, self.q),
                "resets_at": iso(c.resets),
                "metric": c.metric,
                "window": c.kind,
                "scope": "key",
            }

        def write(self, spec: KeySpec, tokens: int, requests: int) -> list[ThresholdEvent]:
            """Apply a write to the model; return the threshold events it must fire."""
            now = self.clock()
            expected = []
            for c in self.counters(spec, now):
                amount = tokens if c.metric == "tokens" else requests
                before = self.used(spec, c)
                after = before + amount
                self.sums[(spec.name, c.metric, c.kind, c.label)] = after
                if c.limit is None:
                    continue
                for level, qi in zip(("warning", "critical", "exhausted"), self.q):
                    if 400 * before < qi * c.limit <= 400 * after:
                        expected.append(
                            ThresholdEvent(
                                provider=spec.provider,
                                key_id=spec.key_id,
                                level=level,  # type: ignore[arg-type]
                                threshold=qi / 4,
                                metric=c.metric,
                                window=c.kind,
                                scope="key",
                                used=after,
                                limit=c.limit,
                                percentage=round(after * 100 / c.limit, 1),
                                at=iso(now),
                                resets_at=iso(c.resets),
                            )
                        )
            return expected

        def new_events(self, mark: int) -> list[ThresholdEvent]:
            return sorted(self.events[mark:], key=lambda e: (e.window, e.metric, e.threshold))

        # ----------------------------------------------------------- rules

        @rule(key=st.sampled_from(LOGGABLE), data=st.data())
        def log_usage(self, key: str, data: st.DataObject) -> None:
            spec = SPECS[key]
            tokens = data.draw(st.integers(0, spec.limits[("tokens", "day")]), label="tokens")
            requests = data.draw(st.integers(0, 3), label="requests")
            mark = len(self.events)
            expected_events = self.write(spec, tokens, requests)
            record = self.tracker.log_usage(spec.provider, spec.key_id, tokens, requests)
            now = self.clock()
            day = [c for c in self.counters(spec, now) if c.kind == "day"]
            assert record == {
                "tokens_used": self.used(spec, day[0]),
                "requests_count": self.used(spec, day[1]),
                "last_updated": iso(now),
            }
            assert self.new_events(mark) == sorted(
                expected_events, key=lambda e: (e.window, e.metric, e.threshold)
            )

        @rule(key=st.sampled_from(list(SPECS)), data=st.data())
        def try_consume(self, key: str, data: st.DataObject) -> None:
            spec = SPECS[key]
            day_limit = spec.limits[("tokens", "day")]
            tokens = data.draw(
                st.one_of(st.integers(0, day_limit // 2), st.integers(0, day_limit + 5)),
                label="tokens",
            )
            requests = data.draw(st.integers(0, 3), label="requests")
            now = self.clock()
            cs = self.counters(spec, now)
            before = {(c.kind, c.metric): self.used(spec, c) for c in cs}

            def amount(c: MCounter) -> int:
                return tokens if c.metric == "tokens" else requests

            # every limited counter, with its limit and its value before the call
            limited = [(c, c.limit, before[(c.kind, c.metric)]) for c in cs if c.limit is not None]
            fits = all(was + amount(c) <= limit for c, limit, was in limited)
            mark = len(self.events)
            result = self.tracker.try_consume(spec.provider, spec.key_id, tokens, requests)
            note(f"try_consume({key}, {tokens}, {requests}) -> admitted={result['admitted']}")
            assert result["admitted"] == fits, f"usage before {before}, got {result}"
            expected_events = self.write(spec, tokens, requests) if fits else []
            assert self.new_events(mark) == sorted(
                expected_events, key=lambda e: (e.window, e.metric, e.threshold)
            )
            assert result["tokens_used"] == self.used(spec, cs[0])
            assert result["requests_count"] == self.used(spec, cs[1])
            assert result["last_updated"] == iso(now)
            order = lambda i: (i["window"], i["metric"])  # noqa: E731
            assert sorted(result["quotas"], key=order) == sorted(
                (self.info(spec, c, self.used(spec, c)) for c, _, _ in limited), key=order
            )
            refused = (
                []
                if fits
                else [
                    self.info(spec, c, was) for c, limit, was in limited if was + amount(c) > limit
                ]
            )
            assert sorted(result["refused_by"], key=order) == sorted(refused, key=order)
            if result["admitted"]:
                # never pushes a counter that was within its limit past it
                reported = {(q["window"], q["metric"]): q["used"] for q in result["quotas"]}
                for c, limit, was in limited:
                    if was <= limit:
                        assert reported[(c.kind, c.metric)] <= limit
            else:
                assert all(self.used(spec, c) == before[(c.kind, c.metric)] for c in cs)

        @rule(
            key=st.sampled_from(list(SPECS)),
            metric=st.sampled_from(["tokens", "requests"]),
            required=st.integers(0, 1100),
            explicit=st.none() | st.integers(0, 1100),
        )
        def is_quota_available(
            self, key: str, metric: str, required: int, explicit: int | None
        ) -> None:
            spec = SPECS[key]
            now = self.clock()
            cs = [c for c in self.counters(spec, now) if c.metric == metric]
            stored_before = self.stored(spec)
            if explicit is not None:
                used = self.used(spec, next(c for c in cs if c.kind == "day"))
                want: bool | None = max(0, explicit - used) >= required
            elif any(c.limit is not None for c in cs):
                want = all(
                    max(0, c.limit - self.used(spec, c)) >= required
                    for c in cs
                    if c.limit is not None
                )
            else:
                want = None
            if want is None:
                with pytest.raises(ConfigurationError):
                    self.tracker.is_quota_available(
                        spec.provider, spec.key_id, required=required, metric=metric
                    )
            else:
                got = self.tracker.is_quota_available(
                    spec.provider,
                    spec.key_id,
                    daily_limit=explicit,
                    required=required,
                    metric=metric,
                )
                assert got is want
            assert self.stored(spec) == stored_before, "is_quota_available wrote something"

        @rule(
            key=st.sampled_from(list(SPECS)),
            metric=st.sampled_from(["tokens", "requests"]),
            explicit=st.integers(1, 1100),
        )
        def remaining_with_explicit_limit(self, key: str, metric: str, explicit: int) -> None:
            spec = SPECS[key]
            c = next(
                c
                for c in self.counters(spec, self.clock())
                if c.metric == metric and c.kind == "day"
            )
            got = self.tracker.get_remaining_quota(spec.provider, spec.key_id, explicit, metric)
            c = MCounter(c.metric, c.kind, c.label, explicit, c.resets)
            assert got == self.info(spec, c, self.used(spec, c))

        @rule(
            delta=st.one_of(
                st.integers(0, 120).map(lambda s: timedelta(seconds=s)),
                st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
            )
        )
        def advance(self, delta: timedelta) -> None:
            self.clock.advance(delta)

        @rule(key=st.sampled_from(list(SPECS)), offset=st.sampled_from([timedelta(0), -ONE_US]))
        def jump_to_day_end(self, key: str, offset: timedelta) -> None:
            _, end = model_day(self.clock(), SPECS[key])
            self.clock.set(end + offset)

        @rule(offset=st.sampled_from([timedelta(0), -ONE_US]))
        def jump_to_minute_end(self, offset: timedelta) -> None:
            _, end = model_minute(self.clock())
            self.clock.set(end + offset)

        @rule(
            when=st.sampled_from(DST_TARGETS),
            offset=st.one_of(
                st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30)),
                st.sampled_from([timedelta(0), -ONE_US]),
            ),
        )
        def jump_near_dst(self, when: datetime, offset: timedelta) -> None:
            self.clock.set(when + offset)  # may go back in time: old windows reappear

        # ------------------------------------------------------ invariants

        def stored(self, spec: KeySpec) -> list[tuple[str, str, int]]:
            """Every counter of the key at the current instant, read from the store."""
            key = self.tracker.get_key(spec.provider, spec.key_id)
            counters = list(key_counters(key, None, None, self.tracker.now()))
            values = self.backend.read([c.bucket for c in counters])
            return sorted((c.window.kind, c.metric, v) for c, v in zip(counters, values))

        @invariant()
        def store_matches_model(self) -> None:
            now = self.clock()
            for spec in KEYS:
                cs = self.counters(spec, now)
                assert self.stored(spec) == sorted(
                    (c.kind, c.metric, self.used(spec, c)) for c in cs
                ), f"{spec.name} at {now}"

        @invariant()
        def today_usage_matches_model(self) -> None:
            now = self.clock()
            for spec in KEYS:
                cs = self.counters(spec, now)
                assert self.tracker.get_today_usage(spec.provider, spec.key_id) == {
                    "tokens_used": self.used(spec, cs[0]),
                    "requests_count": self.used(spec, cs[1]),
                }

        @invariant()
        def remaining_quota_matches_model(self) -> None:
            now = self.clock()
            for spec in KEYS:
                for c in self.counters(spec, now):
                    if c.kind != "day":
                        continue
                    if c.limit is None:
                        with pytest.raises(ConfigurationError):
                            self.tracker.get_remaining_quota(
                                spec.provider, spec.key_id, metric=c.metric
                            )
                        continue
                    got = self.tracker.get_remaining_quota(
                        spec.provider, spec.key_id, metric=c.metric
                    )
                    want = self.info(spec, c, self.used(spec, c))
                    assert got == want
                    # restated from the spec, independently of self.info
                    assert got["remaining"] == max(0, got["limit"] - got["used"])
                    assert got["percentage"] == round(got["used"] * 100 / got["limit"], 1)

        @invariant()
        def strict_key_never_exceeds_its_limits(self) -> None:
            now = self.clock()
            for spec in KEYS:
                if spec.log_allowed:
                    continue
                for c in self.counters(spec, now):
                    if c.limit is not None:
                        assert self.used(spec, c) <= c.limit

    return TrackerMachine


# Fewer examples for stores with a round trip per call, to keep the file fast.
STATEFUL_EXAMPLES = {"memory": 200, "diskcache": 60, "redis": 75, "mongomock": 60}


def test_tracker_matches_model(backend_factory: BackendFactory) -> None:
    machine = make_machine(backend_factory)
    # The tracker logs every crossing and refusal; the listener already checks
    # them, and thousands of log lines would bury a failure report.
    library_logger = logging.getLogger("quota_kit")
    level = library_logger.level
    library_logger.setLevel(logging.CRITICAL)
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=STATEFUL_EXAMPLES.get(backend_factory.kind, 40),
                stateful_step_count=30,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )
    finally:
        library_logger.setLevel(level)
