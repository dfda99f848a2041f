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
from typing import Any

from models.errors import PulseError
from models.transaction import Transaction

MINUTE = 60_000_000
CURRENT_WINDOW = 5 * MINUTE  # (t - 5 min, t]
BASELINE_WINDOW = 60 * MINUTE  # (t - 65 min, t - 5 min], averaged per 5 minutes
BASELINE_SLOTS = BASELINE_WINDOW // CURRENT_WINDOW  # 12
WARM_UP = 60 * MINUTE
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


@dataclass(frozen=True, slots=True)
class SyndicateRules:
    threshold: Decimal
    spike_multiplier: Decimal
    spike_min_count: int
    enabled: bool = True
    name: str | None = None


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
    """One syndicate's recent in-window event times, its own event-time watermark, its history
    start and its open spike.

    Lateness is judged against the syndicate's own newest event, not its partition's: a producer
    whose clock runs minutes behind its partition-mates still gets its spikes detected.
    """

    times: list[int] = field(default_factory=list)
    first_event: int | None = None
    spike_open: bool = False
    alerted_count: int = 0
    watermark: int | None = None

    def count(self, after: int, upto: int) -> int:
        """Events with after < time <= upto."""
        return bisect_right(self.times, upto) - bisect_right(self.times, after)

    def prune(self, before: int) -> None:
        cut = bisect_right(self.times, before)
        if cut:
            del self.times[:cut]

    def state(self) -> tuple[int | None, bool, int]:
        """What is stored of this window besides its times (the watermark is derived from those:
        the newest counted event)."""
        return self.first_event, self.spike_open, self.alerted_count


@dataclass(frozen=True, slots=True)
class SpikeReading:
    current: int
    baseline_count: int
    warm: bool

    @property
    def baseline(self) -> Decimal:
        return Decimal(self.baseline_count) / BASELINE_SLOTS

    def fires(self, rules: SyndicateRules) -> bool:
        # current >= multiplier * (baseline_count / 12), without dividing.
        return (
            self.warm
            and self.current >= rules.spike_min_count
            and self.current * BASELINE_SLOTS >= rules.spike_multiplier * self.baseline_count
        )


def read_windows(window: SyndicateWindow, t: int) -> SpikeReading:
    current = window.count(t - CURRENT_WINDOW, t)
    baseline = window.count(t - CURRENT_WINDOW - BASELINE_WINDOW, t - CURRENT_WINDOW)
    warm = window.first_event is not None and window.first_event <= t - WARM_UP
    return SpikeReading(current, baseline, warm)


def spike(
    window: SyndicateWindow, transaction: Transaction, t: int, rules: SyndicateRules
) -> Alert | None:
    """Rule 2, evaluated for an event at ``t`` already added to ``window``.

    One open spike per syndicate: after an alert, the next one needs the rate to fall below the
    firing level first (then a new spike), or to double over the alerted level (escalation).
    """
    times = window.times
    edge = t - CURRENT_WINDOW
    below = bisect_right(times, edge)
    current = bisect_right(times, t) - below
    if not window.spike_open and current < rules.spike_min_count:
        return None  # cannot fire, nothing open to close: most events, read no further
    baseline = below - bisect_right(times, edge - BASELINE_WINDOW)
    warm = window.first_event is not None and window.first_event <= t - WARM_UP
    reading = SpikeReading(current, baseline, warm)
    fires = reading.fires(rules)
    escalation = False
    if window.spike_open:
        if not fires:
            window.spike_open = False
            return None
        if reading.current < 2 * window.alerted_count:
            return None
        escalation = True
    elif not fires:
        return None
    window.spike_open = True
    window.alerted_count = reading.current
    if not rules.enabled:
        return None
    expected = (rules.spike_multiplier * reading.baseline).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    return Alert(
        alert_id=alert_id(AlertKind.SPIKE, transaction.syndicate_id, transaction.transaction_id),
        kind=AlertKind.SPIKE,
        syndicate_id=transaction.syndicate_id,
        transaction_id=transaction.transaction_id,
        observed=Decimal(reading.current),
        expected=expected,
        ratio=_ratio(Decimal(reading.current), reading.baseline),
        event_time=transaction.transaction_date,
        window_start=from_micros(t - CURRENT_WINDOW),
        window_end=from_micros(t),
        details={
            "current_count": reading.current,
            "baseline_count": reading.baseline_count,
            "baseline_per_5min": str(reading.baseline.quantize(Decimal("0.01"))),
            "multiplier": str(rules.spike_multiplier),
            "min_count": rules.spike_min_count,
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
            window.watermark = t
        insort(window.times, t)
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
