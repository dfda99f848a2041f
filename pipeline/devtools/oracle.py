"""An independent computation of what the pipeline must produce, from the input alone.

Deliberately shares no code with the pipeline: stdlib json and Decimal only.
"""

from __future__ import annotations

import json
from bisect import bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal


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
) -> set[tuple[str, str, str]]:
    """(kind, syndicate_id, transaction_id) of every alert, by brute force over each syndicate's events.

    Events arrive in the order given (a syndicate's events keep their order on its partition). An
    event more than ``lateness`` behind the newest counted event of its syndicate is late: stored,
    able to raise a large-transaction alert, but never counted in a window. O(n^2) on purpose.
    """
    return _alerts(records, threshold, multiplier, min_count, lateness, brute=True)


def expected_alerts_fast(
    records: list[dict],
    threshold: Decimal = Decimal("10000.00"),
    multiplier: Decimal = Decimal(10),
    min_count: int = 5,
    lateness: timedelta = timedelta(seconds=120),
) -> set[tuple[str, str, str]]:
    """Same rule as ``expected_alerts``, with bisect instead of rescans (large runs)."""
    return _alerts(records, threshold, multiplier, min_count, lateness, brute=False)


def _alerts(
    records: list[dict],
    threshold: Decimal,
    multiplier: Decimal,
    min_count: int,
    lateness: timedelta,
    brute: bool,
) -> set[tuple[str, str, str]]:
    five, hour = timedelta(minutes=5), timedelta(minutes=60)
    alerts: set[tuple[str, str, str]] = set()
    seen: dict[str, list[datetime]] = defaultdict(list)
    newest: dict[str, datetime] = {}
    state: dict[str, tuple[bool, int]] = defaultdict(lambda: (False, 0))
    for record in first_wins(records).values():
        syndicate, tid = str(record["syndicate_id"]), str(record["transaction_id"])
        if Decimal(str(record["transaction_amount"])) > threshold:
            alerts.add(("large_transaction", syndicate, tid))
        t = datetime.fromisoformat(record["transaction_date"].replace("Z", "+00:00"))
        if syndicate in newest and t < newest[syndicate] - lateness:
            continue  # late: not in the windows
        newest[syndicate] = max(t, newest.get(syndicate, t))
        times = seen[syndicate]
        insort(times, t)
        if brute:
            current = sum(1 for x in times if t - five < x <= t)
            baseline = sum(1 for x in times if t - five - hour < x <= t - five)
        else:
            current = bisect_right(times, t) - bisect_right(times, t - five)
            baseline = bisect_right(times, t - five) - bisect_right(times, t - five - hour)
        warm = times[0] <= t - hour
        fires = (
            warm
            and current >= min_count
            and Decimal(current) >= multiplier * Decimal(baseline) / 12
        )
        is_open, alerted = state[syndicate]
        if is_open and not fires:
            state[syndicate] = (False, 0)
        elif (is_open and current >= 2 * alerted) or (not is_open and fires):
            alerts.add(("spike", syndicate, tid))
            state[syndicate] = (True, current)
    return alerts
