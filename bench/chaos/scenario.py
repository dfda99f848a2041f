"""What every scenario shares: its outcome, the stream it produces, and the comparison with the oracle."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from bench.common import BenchStack
from pipeline.devtools import oracle
from pipeline.devtools.produce import produce
from pipeline.platform import db

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Outcome:
    scenario: str
    runs: int
    faults: int
    differences: int
    detail: str = ""


def chaos_stream(syndicates: int, hours: float, seed: int) -> list[dict]:
    """Steady traffic (~2 per minute per syndicate), three bursts of ~30x, about 1 in 300 above the threshold."""
    rng = random.Random(seed)
    out = []
    end = T0 + timedelta(hours=hours)
    burst_at = T0 + timedelta(hours=hours * 0.8)
    for s in range(syndicates):
        syndicate, moment, n = f"syn-{s:03d}", T0 + timedelta(seconds=rng.uniform(0, 30)), 0
        while moment < end:
            large = rng.random() < 1 / 300
            amount = (
                f"{rng.randint(10_001, 90_000)}.00"
                if large
                else f"{rng.randint(10, 9_000)}.{rng.randint(0, 99):02d}"
            )
            out.append(
                {
                    "transaction_id": f"{syndicate}-{n}",
                    "investor_id": f"inv-{rng.randint(0, 499):03d}",
                    "syndicate_id": syndicate,
                    "transaction_amount": amount,
                    "transaction_date": moment.isoformat().replace("+00:00", "Z"),
                }
            )
            n += 1
            burst = s < 3 and burst_at <= moment < burst_at + timedelta(minutes=4)
            moment += timedelta(seconds=rng.expovariate(1 if burst else 1 / 30))
    out.sort(key=lambda r: r["transaction_date"])
    return out


def differences(stack: BenchStack, produced: list[dict]) -> list[str]:
    """What the database holds that the oracle says it should not (and the reverse)."""
    found = []
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        rows = conn.execute(
            "SELECT investor_id, syndicate_count, total_invested, transaction_count FROM investor_totals"
        )
        stored = {r[0]: (r[1], r[2], r[3]) for r in rows}
        alerts = {
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts")
        }
        count = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
    want = {
        k: (len(v.syndicates), v.total, v.count)
        for k, v in oracle.investor_totals(produced).items()
    }
    if count != len(oracle.first_wins(produced)):
        found.append(f"{count} transactions stored, {len(oracle.first_wins(produced))} expected")
    found += [
        f"investor {k}: stored {stored.get(k)}, expected {want.get(k)}"
        for k in set(stored) | set(want)
        if stored.get(k) != want.get(k)
    ]
    expected_alerts = oracle.expected_alerts_fast(produced)
    found += [f"unexpected alert {a}" for a in alerts - expected_alerts]
    found += [f"missing alert {a}" for a in expected_alerts - alerts]
    return found


def produce_stream(stack: BenchStack, values: list[bytes]) -> None:
    summary = asyncio.run(produce(stack.bootstrap, iter(values), 4))
    assert summary.failed == 0
