"""Spike detection quality on labelled streams (`pipeline/devtools/labelled.py`): precision, recall,
median delay after a burst starts, false alerts per syndicate-day, for the live rule as configured
and for variants of its settings. Every rule here is the workers' own code (``models.anomaly``),
replayed by ``models.backtest.replay``. Two families of streams: the issue's, and the same with
office hours, new syndicates and bursts of 2 to 10 minutes."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from decimal import Decimal

from bench.common import record
from config import Settings
from models.anomaly import AlertKind, SyndicateRules
from models.backtest import replay
from pipeline.alerts.rules import RulesCache
from pipeline.devtools.labelled import LabelledStream, StreamSpec, generate, score

# (label, multiplier, minimum count, evidence: 1 in N); None keeps the live setting.
VARIANTS: list[tuple[str, Decimal | None, int | None, Decimal | None]] = [
    ("live settings", None, None, None),
    ("evidence 1 in 100,000", None, None, Decimal(100_000)),
    ("evidence 1 in 10 million", None, None, Decimal(10_000_000)),
    ("multiplier 8", Decimal(8), None, None),
    ("minimum count 3", None, 3, None),
]
FAMILIES = {"issue": StreamSpec, "varied": StreamSpec.varied}


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
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    args = parser.parse_args(argv)
    settings = Settings()
    live = replace(RulesCache(settings).defaults, threshold=Decimal("1e12"))  # spikes only
    lateness = settings.late_event_seconds * 1_000_000
    out: dict[str, object] = {"streams": {}}
    for family in args.families:
        for seed in args.seeds:
            spec = FAMILIES[family](seed=seed)
            stream = generate(spec)
            results = {
                label: evaluate(
                    stream,
                    replace(
                        live,
                        spike_multiplier=multiplier or live.spike_multiplier,
                        spike_min_count=minimum or live.spike_min_count,
                        spike_evidence=evidence or live.spike_evidence,
                    ),
                    lateness,
                )
                for label, multiplier, minimum, evidence in VARIANTS
            }
            countable = sum(e.must_alert and e.carry >= 8 for e in stream.episodes)
            print(
                f"{family} stream, seed {seed}: {len(stream.transactions):,} transactions, "
                f"{spec.syndicates} syndicates, {spec.days} days; {countable} bursts carry >= 8"
            )
            print(
                "| rule | alerts | false | bursts found | precision | recall | median delay "
                "| false per syndicate-day |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for label, r in results.items():
                print(
                    f"| {label} | {r['alerts']} | {r['false']} | {r['bursts_found']} "
                    f"| {r['precision']} | {r['recall']} | {r['median_delay_s']} s "
                    f"| {r['false_per_syndicate_day']} |"
                )
            out["streams"][f"{family}-{seed}"] = {  # type: ignore[index]
                "transactions": len(stream.transactions),
                "countable_bursts": countable,
                "rules": results,
            }
    record("detection", out)
    return out
