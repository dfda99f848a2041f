"""Labelled transaction streams for judging spike detection, and the score of a rule's alerts on them.

A stream is many syndicates trading at their own base rate (log-uniform between two rates per
minute) with a daily cycle and Poisson noise, and planted episodes whose truth is known:

- ``burst``: a sudden rise of ``height`` times for a few minutes. A fund manager must hear of it.
- ``bump``: a mild rise (3 times for 10 minutes). Busy, not alarming: must not alert.
- ``ramp``: a slow climb to 4 times over two hours, then back. Growth, not a spike: must not alert.

Optionally (``StreamSpec.varied``) some syndicates keep office hours (nothing outside nine hours a
day, so every morning they open from silence), some only begin partway through (new syndicates),
and bursts last from 2 to 10 minutes.

The generator knows nothing of any rule; its parameters are the issue's, not tuned to a detector.
An alert is true when it falls between a burst's start and five minutes after its end; recall counts
the bursts that carry at least ``min_carry`` transactions (fewer cannot be told from noise).
"""

from __future__ import annotations

import bisect
import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.transaction import Transaction

MINUTE = timedelta(minutes=1)
GRACE = timedelta(minutes=5)
OFFICE_HOURS = 9


@dataclass(frozen=True)
class Episode:
    syndicate_id: str
    kind: str  # burst | bump | ramp
    start: datetime
    end: datetime
    must_alert: bool
    carry: int = 0  # transactions inside [start, end)


@dataclass(frozen=True)
class StreamSpec:
    syndicates: int = 160
    days: float = 3.0
    min_rate: float = 0.05  # per minute
    max_rate: float = 4.0
    daily_swing: float = 0.6  # ± of the base rate over a day
    bursts: int = 71
    burst_minutes: tuple[int, int] = (4, 4)
    burst_height: tuple[float, float] = (10.0, 20.0)
    bumps: int = 69
    ramps: int = 21
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)
    seed: int = 7
    office_share: float = 0.0  # of syndicates trading only OFFICE_HOURS a day
    new_share: float = 0.0  # of syndicates that begin trading partway through the first two days

    @classmethod
    def varied(cls, seed: int = 7) -> StreamSpec:
        """The issue's stream with the other kinds: office hours, new syndicates, bursts of 2 to
        10 minutes."""
        return cls(seed=seed, burst_minutes=(2, 10), office_share=0.25, new_share=0.15)


@dataclass
class LabelledStream:
    spec: StreamSpec
    transactions: list[Transaction]
    episodes: list[Episode]

    @property
    def syndicate_days(self) -> float:
        return self.spec.syndicates * self.spec.days

    def records(self) -> list[dict[str, str]]:
        """The transactions as they go on the wire (and as the oracle reads them)."""
        return [
            {
                "transaction_id": t.transaction_id,
                "investor_id": t.investor_id,
                "syndicate_id": t.syndicate_id,
                "transaction_amount": str(t.transaction_amount),
                "transaction_date": t.transaction_date.isoformat(),
            }
            for t in self.transactions
        ]


def _plant(
    spec: StreamSpec, rng: random.Random, begins: list[int]
) -> list[tuple[int, str, int, int, float]]:
    """(syndicate, kind, first minute, minutes, height): apart from each other and from the first
    two hours of each syndicate (no hour of history yet)."""
    total = int(spec.days * 24 * 60)
    taken: dict[int, list[tuple[int, int]]] = {}
    planted = []
    wanted = [("burst", spec.bursts), ("bump", spec.bumps), ("ramp", spec.ramps)]
    for kind, count in wanted:
        done = 0
        while done < count:
            syndicate = rng.randrange(spec.syndicates)
            if kind == "burst":
                minutes = rng.randint(*spec.burst_minutes)
                height = rng.uniform(*spec.burst_height)
            elif kind == "bump":
                minutes, height = 10, 3.0
            else:
                minutes, height = 150, 4.0  # two hours up, half an hour there
            if begins[syndicate] + 120 >= total - minutes - 60:
                continue
            first = rng.randrange(begins[syndicate] + 120, total - minutes - 60)
            # Two hours clear on either side: one episode's hour of baseline is not another's.
            span = (first - 120, first + minutes + 120)
            if any(a < span[1] and span[0] < b for a, b in taken.get(syndicate, [])):
                continue
            taken.setdefault(syndicate, []).append(span)
            planted.append((syndicate, kind, first, minutes, height))
            done += 1
    return planted


def _factor(kind: str, minute_in: int, minutes: int, height: float) -> float:
    if kind == "ramp":
        return 1.0 + (height - 1.0) * min(1.0, minute_in / 120)
    return height


def generate(spec: StreamSpec = StreamSpec()) -> LabelledStream:
    rng = random.Random(spec.seed)
    total = int(spec.days * 24 * 60)
    bases = [
        math.exp(rng.uniform(math.log(spec.min_rate), math.log(spec.max_rate)))
        for _ in range(spec.syndicates)
    ]
    phases = [rng.uniform(0, 24) for _ in range(spec.syndicates)]
    # Drawn after the rates and phases, so a spec without these kinds is the stream it always was.
    office = [
        spec.office_share and rng.random() < spec.office_share for _ in range(spec.syndicates)
    ]
    begins = [
        rng.randrange(0, 2 * 24 * 60) if spec.new_share and rng.random() < spec.new_share else 0
        for _ in range(spec.syndicates)
    ]
    planted = _plant(spec, rng, begins)
    factors: dict[tuple[int, int], float] = {}
    for syndicate, kind, first, minutes, height in planted:
        for m in range(minutes):
            factors[(syndicate, first + m)] = _factor(kind, m, minutes, height)
    times: list[tuple[float, int]] = []
    for s in range(spec.syndicates):
        for m in range(begins[s], total):
            hour = (m / 60) % 24
            if office[s] and (hour - phases[s]) % 24 >= OFFICE_HOURS:
                continue
            rate = bases[s] * (
                1 + spec.daily_swing * math.sin(2 * math.pi * (hour - phases[s]) / 24)
            )
            lam = rate * factors.get((s, m), 1.0)
            for _ in range(_poisson(rng, lam)):
                times.append((m + rng.random(), s))
    times.sort()
    transactions = [
        Transaction(
            transaction_id=f"lab-{n}",
            investor_id=f"inv-{n % 997}",
            syndicate_id=f"syn-{s:04d}",
            transaction_amount=Decimal("100.00"),
            transaction_date=spec.start + timedelta(minutes=at),
        )
        for n, (at, s) in enumerate(times)
    ]
    by_syndicate: dict[str, list[datetime]] = {}
    for t in transactions:
        by_syndicate.setdefault(t.syndicate_id, []).append(t.transaction_date)
    episodes = []
    for syndicate, kind, first, minutes, _ in planted:
        name = f"syn-{syndicate:04d}"
        start = spec.start + first * MINUTE
        end = start + minutes * MINUTE
        stamps = by_syndicate.get(name, [])
        carry = bisect.bisect_left(stamps, end) - bisect.bisect_left(stamps, start)
        episodes.append(Episode(name, kind, start, end, kind == "burst", carry))
    return LabelledStream(spec, transactions, episodes)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: the rates here are small (at most a few hundred a minute)."""
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation, rounded, never negative
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Score:
    alerts: int
    false_alerts: int
    bursts_found: int
    bursts_countable: int
    delays: list[float] = field(default_factory=list)
    syndicate_days: float = 1.0

    @property
    def precision(self) -> float:
        return 1.0 if self.alerts == 0 else (self.alerts - self.false_alerts) / self.alerts

    @property
    def recall(self) -> float:
        return 1.0 if not self.bursts_countable else self.bursts_found / self.bursts_countable

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def false_per_syndicate_day(self) -> float:
        return self.false_alerts / self.syndicate_days

    def row(self) -> dict[str, object]:
        return {
            "alerts": self.alerts,
            "false": self.false_alerts,
            "bursts_found": f"{self.bursts_found}/{self.bursts_countable}",
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "median_delay_s": None if self.median_delay is None else round(self.median_delay),
            "false_per_syndicate_day": round(self.false_per_syndicate_day, 4),
        }


def score(
    alerts: list[tuple[str, datetime]],
    episodes: list[Episode],
    syndicate_days: float,
    min_carry: int = 8,
) -> Score:
    """``alerts``: (syndicate id, event time) of each spike alert."""
    windows: dict[str, list[Episode]] = {}
    for e in episodes:
        if e.must_alert:
            windows.setdefault(e.syndicate_id, []).append(e)
    first_alert: dict[Episode, datetime] = {}
    false = 0
    for syndicate, at in alerts:
        hit = next((e for e in windows.get(syndicate, ()) if e.start <= at <= e.end + GRACE), None)
        if hit is None:
            false += 1
        elif hit not in first_alert or at < first_alert[hit]:
            first_alert[hit] = at
    countable = [e for e in episodes if e.must_alert and e.carry >= min_carry]
    found = [e for e in countable if e in first_alert]
    return Score(
        alerts=len(alerts),
        false_alerts=false,
        bursts_found=len(found),
        bursts_countable=len(countable),
        delays=[(first_alert[e] - e.start).total_seconds() for e in found],
        syndicate_days=syndicate_days,
    )
