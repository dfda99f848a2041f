"""An independent computation of what the pipeline must produce, from the input alone.

Deliberately shares no code with the pipeline: stdlib json, Decimal and Fraction only.
"""

from __future__ import annotations

import json
from bisect import bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import comb, gcd


@dataclass
class InvestorTotals:
    syndicates: set[str] = field(default_factory=set)
    total: Decimal = Decimal("0")
    count: int = 0


def first_wins(records: list[dict]) -> dict[str, dict]:
    """transaction_id -> the first record with that id, in the order given."""
    first: dict[str, dict] = {}
    for record in records:
        first.setdefault(str(record["transaction_id"]), record)
    return first


def investor_totals(records: list[dict]) -> dict[str, InvestorTotals]:
    totals: dict[str, InvestorTotals] = defaultdict(InvestorTotals)
    for record in first_wins(records).values():
        entry = totals[str(record["investor_id"])]
        entry.syndicates.add(str(record["syndicate_id"]))
        entry.total += Decimal(str(record["transaction_amount"]))
        entry.count += 1
    return dict(totals)


def top(records: list[dict], limit: int = 5) -> list[dict]:
    ranked = sorted(
        investor_totals(records).items(),
        key=lambda kv: (-len(kv[1].syndicates), -kv[1].total, kv[0]),
    )
    return [
        {"investor_id": k, "syndicate_count": len(v.syndicates), "total_invested": f"{v.total:.2f}"}
        for k, v in ranked[:limit]
    ]


def parse(messages: list[bytes]) -> list[dict]:
    return [json.loads(m) for m in messages]


def expected_alerts(
    records: list[dict],
    threshold: Decimal = Decimal("10000.00"),
    multiplier: Decimal = Decimal(10),
    min_count: int = 5,
    lateness: timedelta = timedelta(seconds=120),
    evidence: Decimal = Decimal(1_000_000),
) -> set[tuple[str, str, str]]:
    """(kind, syndicate_id, transaction_id) of every alert, by brute force over each syndicate's events.

    Events arrive in the order given (a syndicate's events keep their order on its partition). An
    event more than ``lateness`` behind the newest counted event of its syndicate is late: stored,
    able to raise a large-transaction alert, but never counted in a window. O(n^2) on purpose, and
    chance computed as an exact fraction, not as the pipeline does.
    """
    return _alerts(records, threshold, multiplier, min_count, lateness, evidence, brute=True)


def expected_alerts_fast(
    records: list[dict],
    threshold: Decimal = Decimal("10000.00"),
    multiplier: Decimal = Decimal(10),
    min_count: int = 5,
    lateness: timedelta = timedelta(seconds=120),
    evidence: Decimal = Decimal(1_000_000),
) -> set[tuple[str, str, str]]:
    """Same rule as ``expected_alerts``, with bisect instead of rescans (large runs)."""
    return _alerts(records, threshold, multiplier, min_count, lateness, evidence, brute=False)


_SCALES = [timedelta(minutes=m) for m in (1, 2, 3, 4, 5)]
_HOUR = timedelta(minutes=60)
_PRIOR = (10, timedelta(minutes=10))
_MICRO = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _chance(count: int, baseline: int, window: timedelta, span: timedelta) -> Fraction:
    """P(count or more of count + baseline events land in the window), were the rate the same."""
    n = count + baseline
    w, h = window // _MICRO, span // _MICRO
    common = gcd(w, h)
    w, h = w // common, h // common
    # In whole numbers, over the common denominator (w + h)^n: quick even for thousands.
    return Fraction(
        sum(comb(n, k) * w**k * h ** (n - k) for k in range(count, n + 1)), (w + h) ** n
    )


def _could_rise(
    current: int, window: timedelta, base: int, span: timedelta, multiplier: Decimal
) -> bool:
    """Could a rate ``multiplier`` times the span's give ``current`` in the window? Yes when it is
    at least that share of the counts; below it, when such a rise gives that many or fewer at
    least one time in three. Exact, in whole numbers."""
    m = Fraction(multiplier)
    w, h = window // _MICRO, span // _MICRO
    if current * h >= m * base * w:
        return True
    n = current + base
    share = m * w / (m * w + h)  # of each of the n events, were the rate m times the span's
    mean = n * share
    if (mean - current) ** 2 > Fraction(11, 5) * mean:
        return False  # Chernoff: the head is then below exp(-1.1) < 1/3, no sum needed
    head = sum(comb(n, k) * share**k * (1 - share) ** (n - k) for k in range(current + 1))
    return head >= Fraction(1, 3)


def _spike_at(
    times: list[datetime],
    t: datetime,
    first: datetime,
    multiplier: Decimal,
    min_count: int,
    evidence: Decimal,
    brute: bool,
    daily: tuple[int, int] | None = None,
    opening: tuple[int, int] | None = None,
) -> tuple[timedelta, int] | None:
    """The shortest window ending at ``t`` holding a spike, and its count. ``daily``: (count, days)
    of the same hour on previous days: the window must hold the multiplier times that hour's usual
    count as well, and the evidence is weighed against it and the hour together. ``opening``: the
    busier of that hour and the next on those days, the baseline of a syndicate with less than an
    hour since its last silence."""

    def count(after: datetime, upto: datetime) -> int:
        if brute:
            return sum(1 for x in times if after < x <= upto)
        return bisect_right(times, upto) - bisect_right(times, after)

    edge = t - _SCALES[-1]
    if first <= edge - _HOUR:
        base, span = count(edge - _HOUR, edge), _HOUR
    elif daily is not None:  # back from a silence, with days: the usual at this hour instead
        base, span = opening[0], opening[1] * _HOUR  # type: ignore[index]
        daily = None
    else:  # less than an hour of history: its own rate so far, or the prior's if higher
        base, span = count(first - _MICRO, t), max(t - first, _SCALES[0])
        if Fraction(base, span // _MICRO) < Fraction(_PRIOR[0], _PRIOR[1] // _MICRO):
            base, span = _PRIOR[0], _PRIOR[1]

    # The evidence is weighed against the hour and the same hour on the days before, together.
    pooled = (base, span) if daily is None else (base + daily[0], span + daily[1] * _HOUR)
    for window in _SCALES:
        current = count(t - window, t)
        if (
            current >= min_count
            and _could_rise(current, window, base, span, multiplier)
            and (
                daily is None
                or _could_rise(current, window, daily[0], daily[1] * _HOUR, multiplier)
            )
            # Counted per 5 minutes: a window of w minutes, 5 / w chances in that time.
            and _chance(current, pooled[0], window, pooled[1]) * Fraction(evidence)
            < Fraction(window // _MICRO, _SCALES[-1] // _MICRO)
        ):
            return window, current
    return None


def _daily(hours: dict[int, int], hour: int, newest: int) -> tuple[int, int] | None:
    """(count, days) at ``hour`` on up to 7 previous days, each a whole hour of the syndicate's
    history, within the last 170 hours."""
    known_from = max(min(hours), newest - 169)
    days = [d for d in range(1, 8) if hour - 24 * d > known_from]
    if not days:
        return None
    return sum(hours.get(hour - 24 * d, 0) for d in days), len(days)


def _hour(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(hours=1)


def _alerts(
    records: list[dict],
    threshold: Decimal,
    multiplier: Decimal,
    min_count: int,
    lateness: timedelta,
    evidence: Decimal,
    brute: bool,
) -> set[tuple[str, str, str]]:
    alerts: set[tuple[str, str, str]] = set()
    seen: dict[str, list[datetime]] = defaultdict(list)
    newest: dict[str, datetime] = {}
    first: dict[str, datetime] = {}
    hours: dict[str, dict[int, int]] = defaultdict(dict)  # counted transactions per hour
    # Per syndicate: (a spike is open, the count it alerted on, the window length that had it,
    # when). The count keeps rising to what that window holds until it is a whole length past.
    state: dict[str, tuple[bool, int, timedelta, datetime | None]] = {}
    for record in first_wins(records).values():
        syndicate, tid = str(record["syndicate_id"]), str(record["transaction_id"])
        if Decimal(str(record["transaction_amount"])) > threshold:
            alerts.add(("large_transaction", syndicate, tid))
        t = datetime.fromisoformat(record["transaction_date"].replace("Z", "+00:00"))
        if syndicate in newest and t < newest[syndicate] - lateness:
            continue  # late: not in the windows
        if syndicate in newest and t - newest[syndicate] > _SCALES[-1] + _HOUR:
            first[syndicate] = t  # silent for longer than the baseline: judged as new again
        newest[syndicate] = max(t, newest.get(syndicate, t))
        first[syndicate] = min(t, first.get(syndicate, t))
        times = seen[syndicate]
        insort(times, t)
        counted, hour = hours[syndicate], _hour(t)
        counted[hour] = counted.get(hour, 0) + 1
        daily = _daily(counted, hour, _hour(newest[syndicate]))
        opening = daily
        later = _daily(counted, hour + 1, _hour(newest[syndicate]))
        if daily is not None and later is not None and later[0] * daily[1] > daily[0] * later[1]:
            opening = later
        found = _spike_at(
            times, t, first[syndicate], multiplier, min_count, evidence, brute, daily, opening
        )
        is_open, alerted, length, at = state.get(syndicate, (False, 0, _SCALES[-1], None))
        if found is None:
            state[syndicate] = (False, alerted, length, at)
        elif not is_open:
            alerts.add(("spike", syndicate, tid))
            state[syndicate] = (True, found[1], found[0], t)
        else:
            again = bisect_right(times, t) - bisect_right(times, t - length)
            if at is None or t <= at + length:
                state[syndicate] = (True, max(alerted, again), length, at)
            elif again >= 2 * alerted:
                alerts.add(("spike", syndicate, tid))
                state[syndicate] = (True, again, length, t)
    return alerts
