"""The foundation end to end: real broker, real PostgreSQL, the worker as a process."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import psycopg
import pytest

import sql
from pipeline.devtools import oracle
from pipeline.devtools.generate import FIELDS, GeneratorSpec, generate
from pipeline.platform import db
from tests.harness import Stack, Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def records(n: int, seed: int) -> list[dict]:
    spec = GeneratorSpec(300, 60, n, seed, datetime(2026, 3, 1, tzinfo=UTC), rate=5.0)
    return list(generate(spec))


def counts(url: str) -> tuple[int, int]:
    with db.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM dead_letters)"
        ).fetchone()
    assert row
    return row[0], row[1]


def stored_totals(url: str) -> dict[str, tuple[int, Decimal, int]]:
    with db.connect(url) as conn:
        rows = conn.execute(
            "SELECT investor_id, syndicate_count, total_invested, transaction_count FROM investor_totals"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def expected_totals(produced: list[dict]) -> dict[str, tuple[int, Decimal, int]]:
    return {
        k: (len(v.syndicates), v.total, v.count)
        for k, v in oracle.investor_totals(produced).items()
    }


def wait_for(stack: Stack, worker: Worker, rows: int, dead: int, timeout: float = 90) -> None:
    def done() -> bool:
        worker.assert_alive()
        return counts(stack.database_url) >= (rows, dead)

    wait_until(done, timeout, f"{rows} transactions and {dead} dead letters")


BAD = {
    b"not json at all": "not_json",
    b"[1, 2, 3]": "not_object",
    b'{"transaction_id": "b1", "investor_id": "i", "syndicate_id": "s", "transaction_amount": "-5.00", '
    b'"transaction_date": "2026-03-01T10:00:00Z"}': "bad_amount",
    b'{"transaction_id": "b2", "investor_id": "i", "syndicate_id": "s", "transaction_amount": 10.005, '
    b'"transaction_date": "2026-03-01T10:00:00Z"}': "bad_amount",
    b'{"transaction_id": "b3", "investor_id": "i", "syndicate_id": "s", "transaction_amount": "10.00", '
    b'"transaction_date": "2026-03-01T10:00:00"}': "bad_date",
    b'{"transaction_id": "b4", "syndicate_id": "s", "transaction_amount": "10.00", '
    b'"transaction_date": "2026-03-01T10:00:00Z"}': "missing_field",
    b'{"transaction_id": "b5", "investor_id": "i", "syndicate_id": "s", "transaction_amount": "10.00", '
    b'"transaction_date": "2026-03-01T10:00:00Z", "currency": "usd"}': "bad_currency",
    b'{"pad": "' + b"x" * 70_000 + b'"}': "too_large",
}


def test_ingest_matches_an_independent_oracle(stack: Stack, workers: list[Worker], tmp_path):
    valid = records(6000, seed=11)
    rng = random.Random(3)
    # The valid data goes through the CLI from a CSV file, the way a user would publish it.
    csv_path = tmp_path / "transactions.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(valid)
    stack.pulse("produce", str(csv_path))
    # Then the faults of a real feed: redeliveries, conflicting duplicates, malformed messages.
    redelivered = rng.sample(valid, 300)
    conflicting = [
        {**r, "transaction_amount": str(Decimal(r["transaction_amount"]) + Decimal("0.01"))}
        for r in rng.sample(valid, 7)
    ]
    stack.produce(orjson.dumps(r) for r in redelivered + conflicting)
    stack.produce(BAD)
    produced = valid + redelivered + conflicting

    worker = Worker(stack).start()
    workers.append(worker)
    expected_dead = len(conflicting) + len(BAD)
    wait_for(stack, worker, len(valid), expected_dead)

    assert counts(stack.database_url) == (len(valid), expected_dead)
    assert stored_totals(stack.database_url) == expected_totals(produced)
    with db.connect(stack.database_url) as conn:
        pair_rows = conn.execute(
            "SELECT investor_id, syndicate_id, total_invested FROM investor_syndicate_totals"
        ).fetchall()
    pairs: dict[tuple[str, str], Decimal] = {}
    for r in oracle.first_wins(produced).values():
        key = (r["investor_id"], r["syndicate_id"])
        pairs[key] = pairs.get(key, Decimal(0)) + Decimal(r["transaction_amount"])
    assert {(r[0], r[1]): r[2] for r in pair_rows} == pairs

    # The CLI's top 5 equals the oracle's, and the seed's own query (with SELECT added) agrees.
    top = json.loads(stack.pulse("top-investors", "--json").stdout)
    assert top == oracle.top(produced)
    with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
        seed_rows = conn.execute(sql.load("ingest/seed_top_investors")).fetchall()
    assert [(r[1], f"{r[2]:.2f}") for r in seed_rows] == [
        (t["syndicate_count"], t["total_invested"]) for t in top
    ]

    # The DLQ holds exactly the bad ones, original bytes and reason, with where they came from.
    dlq = stack.read_topic("transactions-dlq", expected_dead)
    assert len(dlq) == expected_dead
    got = {}
    for record in dlq:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["pulse.source.topic"] == "transactions"
        assert int(headers["pulse.source.offset"]) >= 0
        assert headers["pulse.detail"]
        got[record.value] = headers["pulse.reason"]
    expected = dict(BAD)
    expected.update({orjson.dumps(r): "conflicting_duplicate" for r in conflicting})
    assert got == expected


def test_a_worker_killed_mid_ingestion_loses_nothing_and_counts_nothing_twice(
    stack: Stack, workers: list[Worker]
):
    valid = records(40_000, seed=23)
    stack.produce(orjson.dumps(r) for r in valid)
    first = Worker(stack, name="first").start()
    workers.append(first)
    wait_until(
        lambda: counts(stack.database_url)[0] >= 4_000,
        60,
        "ingestion to be under way",
        interval=0.05,
    )
    first.kill()
    stored_at_kill = counts(stack.database_url)[0]
    assert stored_at_kill < len(valid), "the kill came too late to test anything"

    second = Worker(stack, name="second").start()
    workers.append(second)
    wait_for(stack, second, len(valid), 0, timeout=120)
    assert counts(stack.database_url) == (len(valid), 0)
    assert stored_totals(stack.database_url) == expected_totals(valid)
    assert json.loads(stack.pulse("top-investors", "--json").stdout) == oracle.top(valid)


def test_postgres_outage_is_ridden_out_without_loss(stack: Stack, workers: list[Worker], postgres):
    before = records(3000, seed=31)
    during = records(3000, seed=32)
    stack.produce(orjson.dumps(r) for r in before)
    worker = Worker(stack).start()
    workers.append(worker)
    wait_for(stack, worker, len(before), 0)

    postgres.stop()
    try:
        stack.produce(orjson.dumps(r) for r in during)
        wait_until(
            lambda: "retry" in worker.log(), 30, "the worker to retry against the stopped database"
        )
        worker.assert_alive()
    finally:
        postgres.start()

    wait_for(stack, worker, len(before) + len(during), 0)
    assert counts(stack.database_url) == (len(before) + len(during), 0)
    assert stored_totals(stack.database_url) == expected_totals(before + during)
