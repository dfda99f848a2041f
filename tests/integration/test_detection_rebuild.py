"""Spike windows rebuilt from PostgreSQL: a detector that restarts after every batch (its memory
gone, as after a crash or a rebalance) raises exactly the alerts of one that never restarts, and
both equal the oracle, late events and lagging clocks included. Real PostgreSQL, no broker."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from config import Settings
from models.batch import SourceMessage, triage
from pipeline.alerts.detection import AnomalyDetector
from pipeline.devtools import oracle
from pipeline.ingest.sink import TransactionSink
from pipeline.platform import db

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def stream(seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for s in range(3):
        moment, n = T0, 0
        while moment < T0 + timedelta(hours=2, minutes=30):
            # One syndicate's clock runs behind; every one sends a late straggler now and then.
            stamp = moment - timedelta(minutes=7 if s == 2 else 0)
            if rng.random() < 0.05:
                stamp -= timedelta(minutes=rng.choice([1, 3, 90]))
            out.append(
                (
                    moment,
                    {
                        "transaction_id": f"s{s}/{n}",
                        "investor_id": f"inv-{rng.randint(1, 9)}",
                        "syndicate_id": f"syn-{s}",
                        "transaction_amount": "15000.00" if rng.random() < 0.01 else "100.00",
                        "transaction_date": stamp.isoformat(),
                    },
                )
            )
            n += 1
            burst = T0 + timedelta(hours=2) <= moment < T0 + timedelta(hours=2, minutes=4)
            moment += timedelta(seconds=rng.expovariate(1 if burst else 1 / 30))
    out.sort(key=lambda x: x[0])  # in the order they happened; stamped by each producer's clock
    return [r for _, r in out]


def messages(records: list[dict]) -> list[SourceMessage]:
    import orjson

    return [
        SourceMessage("transactions", 0, i, r["syndicate_id"].encode(), orjson.dumps(r))
        for i, r in enumerate(records)
    ]


async def run(
    url: str, records: list[dict], batch: int, restart: bool
) -> set[tuple[str, str, str]]:
    settings = Settings(database_url=url, kafka_url="kafka://127.0.0.1:1")
    sink = TransactionSink(url, AnomalyDetector(settings))
    found = set()
    msgs = messages(records)
    for start in range(0, len(msgs), batch):
        if restart:
            await sink.close()
            sink = TransactionSink(url, AnomalyDetector(settings))
        t = triage(msgs[start : start + batch], datetime.now(UTC), timedelta(minutes=5))
        result = await sink.write(t.accepted, t.dead)
        found |= {(a.kind.value, a.syndicate_id, a.transaction_id) for a in result.alerts}
    await sink.close()
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_restarting_after_every_batch_changes_no_alert(postgres, seed: int):
    from tests.conftest import database_url_for

    records = stream(seed)
    expected = oracle.expected_alerts_fast(records)
    assert any(k == "spike" for k, _, _ in expected), "the stream must exercise the spike rule"
    results = []
    for restart in (False, True):
        name = f"rebuild_{seed}_{int(restart)}"
        with db.connect(postgres.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = database_url_for(postgres.url, name)
        db.upgrade(url)
        results.append(asyncio.run(run(url, records, batch=37, restart=restart)))
        with db.connect(url) as conn:
            stored = {
                (r[0], r[1], r[2])
                for r in conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts")
            }
        assert stored == results[-1]
    continuous, restarted = results
    assert continuous == expected
    assert restarted == expected
