"""Partitions move between two workers in the middle of planted spikes, and the alerts equal the
oracle's: a second worker joins mid-burst (it takes partitions, and their windows from the
changelog), then the first leaves mid-burst (the second takes the rest). Real broker, real
PostgreSQL, two worker processes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.devtools import oracle
from tests.harness import Stack, Worker, ops_get, transaction, wait_until
from tests.integration.test_anomalies import alerts_in_db, stored

pytestmark = [pytest.mark.integration, pytest.mark.serial]

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BURSTS = {"syn-a": 100, "syn-b": 104, "syn-c": 108, "syn-d": 112}  # minute each burst starts


def stream() -> list[dict]:
    """Two hours of one a minute in 10 syndicates; in four, a burst of 12 minutes that rises from
    5 to 30 a minute, so that it fires and escalates while the partitions move."""
    rng = random.Random(3)
    out: list[tuple[datetime, dict]] = []
    for s in "abcdefghij":
        syndicate = f"syn-{s}"
        for i in range(130):
            at = T0 + timedelta(minutes=i, seconds=rng.uniform(0, 59))
            out.append((at, transaction(f"{syndicate}-{i}", syndicate, at)))
        start = BURSTS.get(syndicate)
        if start is not None:
            for minute in range(12):
                for j in range(5 + 2 * minute):
                    at = T0 + timedelta(minutes=start + minute, seconds=rng.uniform(0, 59))
                    tid = f"{syndicate}-burst-{minute}-{j}"
                    out.append((at, transaction(tid, syndicate, at)))
    out.sort(key=lambda x: x[0])
    return [r for _, r in out]


def before(records: list[dict], minute: int) -> list[dict]:
    edge = T0 + timedelta(minutes=minute)
    return [r for r in records if datetime.fromisoformat(r["transaction_date"]) < edge]


def transactions_partitions(stack: Stack, worker: Worker) -> set[int]:
    status, assignment = ops_get(worker, "/assignment/")
    assert status == 200, assignment
    return set(assignment["actives"].get("transactions", []))


def test_partitions_moving_mid_spike_change_no_alert(stack: Stack, workers: list[Worker]):
    records = stream()
    expected = oracle.expected_alerts(records)
    spiking = {s for k, s, _ in expected if k == "spike"}
    assert spiking == set(BURSTS), "every burst must fire"
    first_part, second_part = before(records, 106), before(records, 110)

    stack.produce(orjson.dumps(r) for r in first_part)
    first = Worker(stack, "first").start()
    workers.append(first)
    wait_until(lambda: stored(stack.database_url) == len(first_part), 90, "the first part")

    # A second worker joins in the middle of the bursts: the partitions are shared out.
    second = Worker(stack, "second").start()
    workers.append(second)
    wait_until(
        lambda: transactions_partitions(stack, second) and transactions_partitions(stack, first),
        90,
        "both workers own partitions of transactions",
    )
    stack.produce(orjson.dumps(r) for r in second_part[len(first_part) :])
    wait_until(lambda: stored(stack.database_url) == len(second_part), 90, "the second part")

    # The first leaves, still mid-burst: the second takes its partitions and their windows.
    first.stop()
    wait_until(
        lambda: len(transactions_partitions(stack, second)) == 4, 90, "the second owns them all"
    )
    stack.produce(orjson.dumps(r) for r in records[len(second_part) :])
    wait_until(lambda: stored(stack.database_url) == len(records), 90, "the whole stream")

    wait_until(lambda: alerts_in_db(stack.database_url) == expected, 30, "the oracle's alerts")
