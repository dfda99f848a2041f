"""Spike detection quality on labelled streams (`pipeline/devtools/labelled.py`): precision, recall,
median delay after a burst starts, false alerts per syndicate-day, for the live rule as it is
configured and for the variants named here. Pure replay (`models.backtest.replay`): no broker, no
database, the same rule code the workers run."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
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
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    spec = StreamSpec(syndicates=args.syndicates, days=args.days, seed=args.seed)
    began = time.perf_counter()
    stream = generate(spec)
    generated = time.perf_counter() - began
    settings = Settings()
    live = SyndicateRules(
        threshold=Decimal("1e12"),  # spikes only
        spike_multiplier=settings.spike_multiplier,
        spike_min_count=settings.spike_min_count,
    )
    lateness = settings.late_event_seconds * 1_000_000
    results = {
        label: evaluate(
            stream, replace(live, spike_multiplier=multiplier, spike_min_count=minimum), lateness
        )
        for label, multiplier, minimum in VARIANTS
    }
    kinds = {k: sum(e.kind == k for e in stream.episodes) for k in ("burst", "bump", "ramp")}
    countable = sum(e.must_alert and e.carry >= 8 for e in stream.episodes)
    print(
        f"{len(stream.transactions):,} transactions, {spec.syndicates} syndicates, {spec.days} days "
        f"(generated in {generated:.1f} s); episodes {kinds}, {countable} bursts carry >= 8"
    )
    print(
        "| rule | alerts | false | bursts found | precision | recall | median delay | false / syndicate-day |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(
            f"| {label} | {r['alerts']} | {r['false']} | {r['bursts_found']} | {r['precision']} "
            f"| {r['recall']} | {r['median_delay_s']} s | {r['false_per_syndicate_day']} |"
        )
    out = {
        "transactions": len(stream.transactions),
        "syndicates": spec.syndicates,
        "days": spec.days,
        "seed": spec.seed,
        "episodes": kinds,
        "countable_bursts": countable,
        "rules": results,
    }
    record("detection", out)
    return out
