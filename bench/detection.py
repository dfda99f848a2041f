"""Spike detection quality on labelled streams (`pipeline/devtools/labelled.py`): precision, recall,
median delay after a burst starts, false alerts per syndicate-day, for the live rule as it is
configured and for the variants named here. The live rule is replayed by `models.backtest.replay`,
the workers' own code; the candidate rule below is the next rule under study, not yet live."""

from __future__ import annotations

import argparse
import math
import time
from bisect import bisect_right
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from bench.common import record
from config import Settings
from models.anomaly import AlertKind, SyndicateRules
from models.backtest import replay
from pipeline.devtools.labelled import LabelledStream, StreamSpec, generate, score

# (label, multiplier, minimum count): the live defaults first.
VARIANTS = [
    ("live rule: 5 min vs the previous hour, 10x, min 5", Decimal(10), 5),
    ("same, 5x", Decimal(5), 5),
    ("same, 10x, min 10", Decimal(10), 10),
    ("same, 5x, min 10", Decimal(5), 10),
]


def poisson_tail(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu), summed upwards from k (k is above mu wherever it is asked)."""
    if k <= 0:
        return 1.0
    term = math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1))
    total, i = term, k
    while term > total * 1e-12:
        i += 1
        term *= mu / i
        total += term
    return min(1.0, total)


def candidate_spikes(
    stream: LabelledStream,
    multiplier: float = 10.0,
    chance: float = 1e-7,
    floor: int = 3,
    scales: tuple[int, ...] = (60, 120, 300),
    prior_per_minute: float = 1.0,
    prior_seconds: float = 600.0,
) -> list[tuple[str, datetime]]:
    """The rule under study (issue 18). At each transaction, for windows of 1, 2 and 5 minutes up to
    it: fire when the count is at least ``multiplier`` times the hourly baseline scaled to the window
    and at least ``floor``, and a count that high has less than ``chance`` probability under the
    baseline (Poisson). The baseline is the hour before the last 5 minutes, as the live rule's, with
    a prior: a syndicate with little history is judged as if it had traded ``prior_per_minute`` for
    ``prior_seconds`` (fading as its own hour fills), and a silent one as if one transaction had
    come in its hour, never by zero. One open spike per syndicate, as live."""
    gap, hour, rate0 = 300.0, 3600.0, prior_per_minute / 60
    times: dict[str, list[float]] = {}
    first: dict[str, float] = {}
    spiking: dict[str, bool] = {}
    alerted: dict[str, int] = {}
    raised = []
    origin = stream.spec.start
    for t in stream.transactions:
        syndicate = t.syndicate_id
        at = (t.transaction_date - origin).total_seconds()
        seen = times.setdefault(syndicate, [])
        seen.append(at)
        start = first.setdefault(syndicate, at)
        edge = at - gap
        baseline = bisect_right(seen, edge) - bisect_right(seen, edge - hour)
        history = min(hour, max(0.0, edge - start))
        weight = prior_seconds * (1 - history / hour)
        rate = (baseline + rate0 * weight + 1) / (history + weight)
        count = None
        for window in scales:
            current = len(seen) - bisect_right(seen, at - window)
            expected = rate * window
            if (
                current >= floor
                and current >= multiplier * expected
                and poisson_tail(current, expected) < chance
            ):
                count = current
                break
        if spiking.get(syndicate):
            if count is None:
                spiking[syndicate] = False
            elif count >= 2 * alerted[syndicate]:
                alerted[syndicate] = count
                raised.append((syndicate, t.transaction_date))
        elif count is not None:
            spiking[syndicate] = True
            alerted[syndicate] = count
            raised.append((syndicate, t.transaction_date))
    return raised


def evaluate(stream: LabelledStream, rules: SyndicateRules, lateness: int) -> dict[str, object]:
    spec = stream.spec
    end = spec.start + (stream.transactions[-1].transaction_date - spec.start) * 2
    began = time.perf_counter()
    raised = replay(stream.transactions, lambda _: rules, lateness, spec.start, end)
    seconds = time.perf_counter() - began
    spikes = [(a.syndicate_id, a.event_time) for a in raised if a.kind is AlertKind.SPIKE]
    return {
        **score(spikes, stream.episodes, stream.syndicate_days).row(),
        "replay_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--syndicates", type=int, default=160)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    args = parser.parse_args(argv)
    settings = Settings()
    live = SyndicateRules(
        threshold=Decimal("1e12"),  # spikes only
        spike_multiplier=settings.spike_multiplier,
        spike_min_count=settings.spike_min_count,
    )
    lateness = settings.late_event_seconds * 1_000_000
    out: dict[str, object] = {"syndicates": args.syndicates, "days": args.days, "streams": {}}
    for seed in args.seeds:
        spec = StreamSpec(syndicates=args.syndicates, days=args.days, seed=seed)
        stream = generate(spec)
        results = {
            label: evaluate(
                stream,
                replace(live, spike_multiplier=multiplier, spike_min_count=minimum),
                lateness,
            )
            for label, multiplier, minimum in VARIANTS
        }
        began = time.perf_counter()
        found = candidate_spikes(stream)
        results["candidate: 1, 2 and 5 min, 10x, chance < 1e-7, prior"] = {
            **score(found, stream.episodes, stream.syndicate_days).row(),
            "replay_seconds": round(time.perf_counter() - began, 1),
        }
        countable = sum(e.must_alert and e.carry >= 8 for e in stream.episodes)
        print(
            f"seed {seed}: {len(stream.transactions):,} transactions, {spec.syndicates} "
            f"syndicates, {spec.days} days; {countable} bursts carry >= 8"
        )
        print("| rule | alerts | false | bursts found | precision | recall | median delay |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, r in results.items():
            print(
                f"| {label} | {r['alerts']} | {r['false']} | {r['bursts_found']} "
                f"| {r['precision']} | {r['recall']} | {r['median_delay_s']} s |"
            )
        out["streams"][seed] = {  # type: ignore[index]
            "transactions": len(stream.transactions),
            "countable_bursts": countable,
            "rules": results,
        }
    record("detection", out)
    return out
