"""Anomaly rules: large transactions and per-syndicate rate spikes. Pure: no I/O, no clock.

Time is event time (``transaction_date``) in integer microseconds since the epoch, so a replay
of the same input in the same order yields the same alerts.
"""

from __future__ import annotations

import json
import uuid
from bisect import bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from models.errors import PulseError
from models.evidence import Odds, improbable, log_chance, plausible, rise_floor
from models.transaction import Transaction

MINUTE = 60_000_000
# The spike rule judges the windows (t - w, t] that end at each event, for these lengths w: a short
# burst shows in a short window while it happens, a longer one in a longer window.
SCALES = (1 * MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE, 5 * MINUTE)
CURRENT_WINDOW = SCALES[-1]  # the longest; the baseline hour ends where it starts
BASELINE_WINDOW = 60 * MINUTE  # (t - 65 min, t - 5 min]: "the average rate in the last hour"
# A syndicate with less than that hour of history is judged by its own rate so far, or by this
# prior (10 transactions in 10 minutes) where that is higher. Never by zero.
PRIOR_COUNT = 10
PRIOR_SPAN = 10 * MINUTE
# Where a syndicate has days of history, a spike must also be the multiplier times its usual rate
# at this hour of the day (the same hour, by event time, UTC, on up to 7 previous days), and those
# hours join the last one in weighing the evidence.
HOUR = 60 * MINUTE
DAYS_AT_THIS_HOUR = 7
HOURS_KEPT = DAYS_AT_THIS_HOUR * 24 + 2  # the 7th day's hour is whole, never the partial first
SILENCE = CURRENT_WINDOW + BASELINE_WINDOW  # longer without a transaction: history begins again
DEFAULT_EVIDENCE = Decimal(1_000_000)  # fire only on what chance gives less than once in this
MAX_EVIDENCE = Decimal(10) ** 15
_ALERT_NS = uuid.UUID("b7d7c3a2-5e0f-4c1b-8f6e-2a9d4e3c1f70")
_ALERT_NS_V2 = uuid.UUID("0c4f9a61-7d2e-4b3a-9e85-1f6a2d7c3b94")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AlertKind(StrEnum):
    LARGE_TRANSACTION = "large_transaction"
    SPIKE = "spike"


def to_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


class InvalidRule(PulseError):
    """A syndicate setting that cannot be a rule."""


def parse_multiplier(text: str, name: str = "spike_multiplier") -> Decimal:
    """A spike multiplier as a user gives it: a finite number above 0 and below 1,000,000."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise InvalidRule(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value >= 1_000_000:
        raise InvalidRule(f"{name} must be greater than 0 and below 1,000,000")
    return value


def parse_evidence(text: str, name: str = "spike_evidence") -> Decimal:
    """An evidence level as a user gives it: "one in N" by chance, N from 2 to 10^15."""
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except ArithmeticError:
        raise InvalidRule(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or not 2 <= value <= MAX_EVIDENCE:
        raise InvalidRule(f"{name} must be from 2 to 10^15 (fire on what chance gives 1 in N)")
    return value.quantize(Decimal(1))


@dataclass(frozen=True, slots=True)
class SyndicateRules:
    threshold: Decimal
    spike_multiplier: Decimal
    spike_min_count: int  # fewest transactions in a window that can be a spike
    enabled: bool = True
    name: str | None = None
    spike_evidence: Decimal = DEFAULT_EVIDENCE  # one in N by chance
    # The multiplier as a fraction of integers, once: the spike rule compares in integers.
    multiplier_ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "multiplier_ratio", self.spike_multiplier.as_integer_ratio())


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: uuid.UUID
    kind: AlertKind
    syndicate_id: str
    transaction_id: str | None
    observed: Decimal
    expected: Decimal
    ratio: Decimal | None
    event_time: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    details: dict[str, object] = field(default_factory=dict)


def alert_from_row(row: Mapping[str, Any]) -> Alert:
    """An alert as stored (a row of ``alerts`` with at least these columns)."""
    return Alert(
        alert_id=row["alert_id"],
        kind=AlertKind(row["kind"]),
        syndicate_id=row["syndicate_id"],
        transaction_id=row["transaction_id"],
        observed=row["observed"],
        expected=row["expected"],
        ratio=row["ratio"],
        event_time=row["event_time"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        details=row["details"],
    )


def alert_id(kind: AlertKind, syndicate_id: str, transaction_id: str) -> uuid.UUID:
    """Deterministic: the same trigger always gives the same id, so replays never duplicate.

    The first scheme joined the parts with ``/``, which is ambiguous once an id holds a ``/``
    (``a/b`` + ``c`` and ``a`` + ``b/c``). Ids without one keep that scheme, so stored alerts keep
    their ids and replaying old input finds them; any id with a ``/`` takes the second scheme, an
    unambiguous JSON array under its own namespace.
    """
    if "/" in syndicate_id or "/" in transaction_id:
        parts = json.dumps([str(kind), syndicate_id, transaction_id], ensure_ascii=True)
        return uuid.uuid5(_ALERT_NS_V2, parts)
    return uuid.uuid5(_ALERT_NS, f"{kind}/{syndicate_id}/{transaction_id}")


def _ratio(observed: Decimal, expected: Decimal) -> Decimal | None:
    if expected == 0:
        return None
    return (observed / expected).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def large_transaction(transaction: Transaction, rules: SyndicateRules) -> Alert | None:
    """Rule 1: strictly above the syndicate's threshold. Exactly at the threshold is not an alert."""
    if not rules.enabled or transaction.transaction_amount <= rules.threshold:
        return None
    return Alert(
        alert_id=alert_id(
            AlertKind.LARGE_TRANSACTION, transaction.syndicate_id, transaction.transaction_id
        ),
        kind=AlertKind.LARGE_TRANSACTION,
        syndicate_id=transaction.syndicate_id,
        transaction_id=transaction.transaction_id,
        observed=transaction.transaction_amount,
        expected=rules.threshold,
        ratio=_ratio(transaction.transaction_amount, rules.threshold),
        event_time=transaction.transaction_date,
        details={"investor_id": transaction.investor_id, "currency": transaction.currency},
    )


@dataclass(slots=True)
class SyndicateWindow:
    """One syndicate's recent in-window event times, its own event-time watermark, the start of its
    history (its first transaction, or the first after its last silence), its counts per hour, and
    its open spike: the window length that alerted, when, and the count it held then (kept rising
    until that window is a whole length past the alert, so that a window still filling up as a
    burst begins is not taken for a doubling).

    Lateness is judged against the syndicate's own newest event, not its partition's: a producer
    whose clock runs minutes behind its partition-mates still gets its spikes detected.
    """

    times: list[int] = field(default_factory=list)
    first_event: int | None = None
    spike_open: bool = False
    alerted_count: int = 0
    watermark: int | None = None
    alerted_window: int = CURRENT_WINDOW
    alerted_at: int | None = None
    # Counted transactions per hour of event time, ``hours[i]`` for hour number ``hours_from + i``
    # (hour number: microseconds // HOUR), for the last HOURS_KEPT hours.
    hours_from: int | None = None
    hours: list[int] = field(default_factory=list)

    def copy(self) -> SyndicateWindow:
        """A copy that shares no list with this one."""
        return SyndicateWindow(
            list(self.times),
            self.first_event,
            self.spike_open,
            self.alerted_count,
            self.watermark,
            self.alerted_window,
            self.alerted_at,
            self.hours_from,
            list(self.hours),
        )

    def count_hour(self, t: int) -> None:
        hour = t // HOUR
        if self.hours_from is None:
            self.hours_from, self.hours = hour, [1]
            return
        index = hour - self.hours_from
        if 0 <= index < len(self.hours):
            self.hours[index] += 1  # most events: an hour already counted
            return
        if index < 0:  # a late event from before the first hour kept
            self.hours[:0] = [0] * -index
            self.hours_from, index = hour, 0
        elif index >= len(self.hours) + HOURS_KEPT - 1:  # back after a week or more: zeros only
            self.hours_from, self.hours = hour - HOURS_KEPT + 1, [0] * HOURS_KEPT
            index = HOURS_KEPT - 1
        else:
            self.hours.extend([0] * (index + 1 - len(self.hours)))
            if len(self.hours) > HOURS_KEPT:
                cut = len(self.hours) - HOURS_KEPT
                del self.hours[:cut]
                self.hours_from += cut
                index -= cut
        self.hours[index] += 1

    def count(self, after: int, upto: int) -> int:
        """Events with after < time <= upto."""
        return bisect_right(self.times, upto) - bisect_right(self.times, after)

    def prune(self, before: int) -> None:
        cut = bisect_right(self.times, before)
        if cut:
            del self.times[:cut]


class Baseline(NamedTuple):
    """What a syndicate's usual rate is known by: ``count`` transactions over ``span``; ``observed``
    is what the syndicate itself did in it, and ``young`` says it has less than an hour of history.
    A tuple, not a dataclass: one is built for most events of a busy syndicate."""

    count: int
    span: int
    observed: int
    young: bool = False
    at_this_hour: bool = False  # the same hour on previous days, standing in for a young hour

    def usual(self, window: int) -> Decimal:
        """The count a window of this length holds at the usual rate."""
        return Decimal(self.count * window) / Decimal(self.span)


def baseline(window: SyndicateWindow, t: int) -> Baseline:
    """The hour before the longest window, once the syndicate has that much history. Before, all it
    has done up to ``t`` over the time it took (at least the shortest window), this window
    included: a syndicate that opens busy is busy, not spiking; or the prior, where its rate is
    higher."""
    edge = t - CURRENT_WINDOW
    first = t if window.first_event is None else window.first_event
    if first <= edge - BASELINE_WINDOW:
        count = window.count(edge - BASELINE_WINDOW, edge)
        return Baseline(count, BASELINE_WINDOW, count)
    so_far = window.count(first - 1, t)
    took = max(t - first, SCALES[0])
    if so_far * PRIOR_SPAN >= PRIOR_COUNT * took:
        return Baseline(so_far, took, so_far, young=True)
    return Baseline(PRIOR_COUNT, PRIOR_SPAN, so_far, young=True)


@dataclass(frozen=True, slots=True)
class SpikeReading:
    """One window's count against the baseline, how improbable it is by chance (natural log), and
    the usual rate at this hour of the day where the syndicate has one."""

    window: int
    count: int
    baseline: Baseline
    log_chance: float
    at_this_hour: Baseline | None = None


def evidence_base(base: Baseline, daily: Baseline | None) -> Baseline:
    """What the evidence is weighed against: the last hour, and the same hour on previous days where
    there are some. More of the syndicate's history to know its usual rate by, so more power to
    tell a small burst from noise; each part still has to show the multiplier on its own."""
    if daily is None or base.at_this_hour:
        return base
    return Baseline(base.count + daily.count, base.span + daily.span, base.observed, base.young)


def read_window(length: int, count: int, seen: SpikeReading) -> SpikeReading:
    """``count`` in a window of this length, read against the baselines ``seen`` was judged by."""
    weighed = evidence_base(seen.baseline, seen.at_this_hour)
    return SpikeReading(
        length,
        count,
        seen.baseline,
        log_chance(count, weighed.count, length, weighed.span, CURRENT_WINDOW),
        seen.at_this_hour,
    )


def _multiplied(count: int, length: int, base: Baseline, rules: SyndicateRules) -> bool:
    """The count is what a rise to the multiplier times the usual rate could give (``plausible``):
    the multiplier is a rate, and both counts are samples of theirs."""
    return plausible(count, base.count, length, base.span, rules.multiplier_ratio)


def judge(window: SyndicateWindow, t: int, rules: SyndicateRules) -> SpikeReading | None:
    """The shortest window ending at ``t`` that holds a spike: at least the minimum count; a rise to
    the multiplier times the usual rate for its length in the last hour, and, where the syndicate
    has days of history, at its usual rate at this hour of the day too (``_multiplied``); and
    improbable by chance beyond the syndicate's evidence level, counted per 5 minutes and weighed
    against both (``evidence_base``)."""
    times = window.times
    upto = bisect_right(times, t)
    longest = upto - bisect_right(times, t - CURRENT_WINDOW)
    if longest < rules.spike_min_count:
        return None  # the longest window holds the most: most events stop here
    base = baseline(window, t)
    daily: Baseline | None = None
    looked = False  # the usual rate at this hour is read once, when a window first needs it
    if base.young and window.hours_from is not None and window.hours_from <= t // HOUR - 25:
        daily, looked = opening_baseline(window, t), True
        if daily is not None:
            base = daily
    shorter = -1  # the count of the window before, which was no spike
    for length in SCALES:
        floor = rise_floor(base.count, length, base.span, rules.multiplier_ratio)
        if longest < floor:
            return None  # the longest window holds the most, and longer windows ask for more
        count = upto - bisect_right(times, t - length)
        if count == shorter:
            continue  # the same count in a longer window: less of a rise, less improbable
        shorter = count
        if count < rules.spike_min_count or count < floor:
            continue
        if not _multiplied(count, length, base, rules):
            continue
        if not looked:
            daily, looked = at_this_hour(window, t), True
        if daily is not None and daily is not base and not _multiplied(count, length, daily, rules):
            continue
        weighed = evidence_base(base, daily)
        if not improbable(
            count, weighed.count, length, weighed.span, rules.spike_evidence, CURRENT_WINDOW
        ):
            continue
        return SpikeReading(
            length,
            count,
            base,
            log_chance(count, weighed.count, length, weighed.span, CURRENT_WINDOW),
            daily,
        )
    return None


def at_this_hour(window: SyndicateWindow, t: int) -> Baseline | None:
    """The usual rate at the hour of ``t``: that hour on each previous day (up to 7) the syndicate
    has whole; None without a single one."""
    if window.hours_from is None:
        return None
    hour = t // HOUR
    count = days = 0
    for day in range(1, DAYS_AT_THIS_HOUR + 1):
        then = hour - 24 * day
        if then <= window.hours_from:
            break
        count += window.hours[then - window.hours_from]
        days += 1
    if not days:
        return None
    return Baseline(count, days * HOUR, count)


def opening_baseline(window: SyndicateWindow, t: int) -> Baseline | None:
    """For a syndicate back after a silence (opening for the day) with days of history: its usual
    rate at this hour says more than its first minutes, so it stands in for the last hour. The
    hour it opens in was only partly open on the days before too, so the next hour is read as
    well, and the busier of the two is the usual."""
    daily = at_this_hour(window, t)
    if daily is None:
        return None
    after = at_this_hour(window, t + HOUR)
    if after is not None and after.count * daily.span > daily.count * after.span:
        daily = after
    return daily._replace(at_this_hour=True)


def recent_counts(window: SyndicateWindow, t: int) -> tuple[int, int]:
    """(the last 5 minutes, the hour before them) up to ``t``: what ops see of a window."""
    edge = t - CURRENT_WINDOW
    return window.count(edge, t), window.count(edge - BASELINE_WINDOW, edge)


def spike(
    window: SyndicateWindow, transaction: Transaction, t: int, rules: SyndicateRules
) -> Alert | None:
    """Rule 2, evaluated for an event at ``t`` already added to ``window``.

    One open spike per syndicate: after an alert, the next one needs every window to fall back
    below a spike first (then a new spike), or the window length that alerted to hold twice its
    count at the alert, while a spike still holds (escalation).
    """
    reading = judge(window, t, rules)
    escalation = False
    if window.spike_open:
        if reading is None:
            window.spike_open = False
            return None
        length = window.alerted_window
        same = window.count(t - length, t)
        if window.alerted_at is None or t <= window.alerted_at + length:
            window.alerted_count = max(window.alerted_count, same)
            return None
        if same < 2 * window.alerted_count:
            return None
        reading = read_window(length, same, reading)
        escalation = True
    elif reading is None:
        return None
    window.spike_open = True
    window.alerted_count = reading.count
    window.alerted_window = reading.window
    window.alerted_at = t
    if not rules.enabled:
        return None
    return _spike_alert(transaction, t, rules, reading, escalation)


def _known_by(base: Baseline) -> str:
    """What the usual rate was known by, in the words the notifications use."""
    if base.at_this_hour:
        return "this hour on previous days"
    return "little history yet" if base.young else "last hour"


def _spike_alert(
    transaction: Transaction,
    t: int,
    rules: SyndicateRules,
    reading: SpikeReading,
    escalation: bool,
) -> Alert:
    base, length, daily = reading.baseline, reading.window, reading.at_this_hour
    usual = base.usual(length)
    cents = Decimal("0.01")
    odds = Odds.of(reading.log_chance)
    return Alert(
        alert_id=alert_id(AlertKind.SPIKE, transaction.syndicate_id, transaction.transaction_id),
        kind=AlertKind.SPIKE,
        syndicate_id=transaction.syndicate_id,
        transaction_id=transaction.transaction_id,
        observed=Decimal(reading.count),
        expected=(rules.spike_multiplier * usual).quantize(cents, rounding=ROUND_HALF_EVEN),
        ratio=_ratio(Decimal(reading.count), usual),
        event_time=transaction.transaction_date,
        window_start=from_micros(t - length),
        window_end=from_micros(t),
        details={
            "current_count": reading.count,
            "window_seconds": length // 1_000_000,
            "usual": str(usual.quantize(cents, rounding=ROUND_HALF_EVEN)),
            "baseline_count": base.observed,
            "baseline_minutes": base.span // MINUTE,
            "prior": base.young,
            "known_by": _known_by(base),
            "baseline_per_5min": str(
                base.usual(CURRENT_WINDOW).quantize(cents, rounding=ROUND_HALF_EVEN)
            ),
            "chance_log10": str(odds.log10),
            "chance": odds.words(),
            "usual_at_this_hour": None
            if daily is None
            else str(daily.usual(length).quantize(cents, rounding=ROUND_HALF_EVEN)),
            "days_at_this_hour": 0 if daily is None else daily.span // HOUR,
            "multiplier": str(rules.spike_multiplier),
            "min_count": rules.spike_min_count,
            "evidence": str(rules.spike_evidence),
            "escalation": escalation,
        },
    )


@dataclass
class PartitionWindows:
    """The spike state of one source partition: the windows of its syndicates."""

    lateness: int
    syndicates: dict[str, SyndicateWindow] = field(default_factory=dict)

    def is_late(self, window: SyndicateWindow, t: int) -> bool:
        return window.watermark is not None and t < window.watermark - self.lateness

    def observe(
        self,
        transaction: Transaction,
        window: SyndicateWindow,
        rules: SyndicateRules,
        t: int | None = None,
    ) -> tuple[bool, Alert | None]:
        """Apply one newly stored transaction; returns (counted in the windows, spike alert).
        ``t``: its event time in microseconds, when the caller has it already."""
        if t is None:
            t = to_micros(transaction.transaction_date)
        if self.is_late(window, t):
            return False, None
        if window.watermark is None or t > window.watermark:
            if window.watermark is not None and t - window.watermark > SILENCE:
                # After a silence longer than the baseline, an empty last hour says nothing of
                # the usual rate (a syndicate opening for the day is not spiking): judge it as
                # new again.
                window.first_event = t
            window.watermark = t
        insort(window.times, t)
        window.count_hour(t)
        if window.first_event is None or t < window.first_event:
            window.first_event = t
        alert = spike(window, transaction, t, rules)
        horizon = self.horizon(window.watermark)
        if len(window.times) > 64 and window.times[0] < horizon:
            window.prune(horizon)
        return True, alert

    def horizon(self, watermark: int) -> int:
        """Older events can no longer fall in any window an accepted event looks at."""
        return watermark - self.lateness - CURRENT_WINDOW - BASELINE_WINDOW

    @property
    def lookback_seconds(self) -> float:
        """How far behind a syndicate's watermark its stored events still matter."""
        return (self.lateness + CURRENT_WINDOW + BASELINE_WINDOW) / 1_000_000


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def alert_message(
    alert: Alert, syndicate_name: str | None, detected_at: datetime | None = None
) -> dict[str, object]:
    """The JSON published on topic ``alerts``, and what a notification about the alert carries."""
    return {
        "alert_id": str(alert.alert_id),
        "kind": alert.kind.value,
        "syndicate_id": alert.syndicate_id,
        "syndicate_name": syndicate_name,
        "transaction_id": alert.transaction_id,
        "observed": str(alert.observed),
        "expected": str(alert.expected),
        "ratio": None if alert.ratio is None else str(alert.ratio),
        "event_time": _iso(alert.event_time),
        "window_start": _iso(alert.window_start),
        "window_end": _iso(alert.window_end),
        "detected_at": _iso(detected_at),
        "details": alert.details,
    }
