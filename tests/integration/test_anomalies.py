"""Anomaly detection end to end: planted spikes and large transactions, crashes, replays, live settings."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from pipeline.devtools import oracle
from pipeline.devtools.environment import NO_COMMITS
from pipeline.platform import db
from tests.harness import (
    Api,
    Stack,
    Worker,
    issue_token,
    metric,
    ops_get,
    transaction,
    wait_until,
)

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=UTC)


record = transaction


def planted_stream(seed: int = 5) -> list[dict]:
    """Three hours of steady traffic in 12 syndicates, two 10x bursts, one below the level, large ones."""
    rng = random.Random(seed)
    out: list[dict] = []
    for s in range(12):
        syndicate = f"syn-{s:02d}"
        moment = T0 + timedelta(seconds=rng.uniform(0, 60))
        n = 0
        while moment < T0 + timedelta(hours=3):
            amount = (
                "15000.00"
                if rng.random() < 0.004
                else f"{rng.randint(100, 9000)}.{rng.randint(0, 99):02d}"
            )
            out.append(
                record(f"{syndicate}-{n}", syndicate, moment, amount, f"inv-{rng.randint(1, 40)}")
            )
            n += 1
            # ~2 per minute, and a 30 x burst (planted spike) in two syndicates at 2h.
            burst = s in (3, 7) and T0 + timedelta(hours=2) <= moment < T0 + timedelta(
                hours=2, minutes=4
            )
            moment += timedelta(seconds=rng.expovariate(1 if burst else 1 / 30))
    out.sort(key=lambda r: r["transaction_date"])
    return out


def alerts_in_db(url: str) -> set[tuple[str, str, str]]:
    with db.connect(url) as conn:
        rows = conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts").fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def alert_ids(url: str) -> list[str]:
    with db.connect(url) as conn:
        return [
            str(r[0])
            for r in conn.execute("SELECT alert_id FROM alerts ORDER BY alert_id").fetchall()
        ]


def stored(url: str) -> int:
    with db.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM transactions").fetchone()
    return row[0] if row else 0


def wait_stored(stack: Stack, worker: Worker, n: int, timeout: float = 90) -> None:
    def check() -> bool:
        worker.assert_alive()
        return stored(stack.database_url) >= n

    wait_until(check, timeout, f"{n} stored transactions")


def test_planted_spikes_and_large_transactions_give_exactly_the_expected_alerts(
    stack: Stack, workers: list[Worker]
):
    stream = planted_stream()
    expected = oracle.expected_alerts(stream)
    kinds = {k for k, _, _ in expected}
    assert kinds == {"spike", "large_transaction"}, "the planted data must exercise both rules"
    assert {s for k, s, _ in expected if k == "spike"} == {"syn-03", "syn-07"}

    stack.produce(orjson.dumps(r) for r in stream)
    # Offsets are never committed before the kill: the restarted worker replays everything.
    first = Worker(stack, "first", **NO_COMMITS).start()
    workers.append(first)
    wait_until(
        lambda: stored(stack.database_url) >= len(stream) // 2, 60, "half the stream", interval=0.05
    )
    first.kill()
    second = Worker(stack, "second").start()
    workers.append(second)
    wait_stored(stack, second, len(stream))
    # The replay happened: everything the first worker stored came back as a duplicate.
    wait_until(
        lambda: metric(second, "pulse_messages_total", outcome="duplicate") >= len(stream) // 2,
        60,
        "the replay of what the first worker stored",
    )

    assert alerts_in_db(stack.database_url) == expected
    listed = json.loads(stack.pulse("alerts", "list", "--json").stdout)
    assert {(a["kind"], a["syndicate_id"], a["transaction_id"]) for a in listed} == expected
    first_ids = alert_ids(stack.database_url)
    for a in listed:
        assert {
            "alert_id",
            "kind",
            "syndicate_id",
            "transaction_id",
            "observed",
            "expected",
            "event_time",
        } <= set(a)
        if a["kind"] == "large_transaction":
            assert a["expected"] == "10000.00"
            assert Decimal(a["observed"]) > Decimal(a["expected"])
        else:
            assert int(a["observed"]) >= 5
    spikes = json.loads(
        stack.pulse("alerts", "list", "--kind", "spike", "--syndicate", "syn-03", "--json").stdout
    )
    assert spikes
    assert {a["syndicate_id"] for a in spikes} == {"syn-03"}

    # Every alert is published on `alerts` for the notifier (at least once; consumers dedupe by id).
    published = stack.read_topic("alerts", len(expected))
    by_id = {json.loads(r.value)["alert_id"]: r for r in published}
    assert set(by_id) == set(first_ids)
    assert all(r.key.decode() == json.loads(r.value)["syndicate_id"] for r in published)

    # The same stream produced again changes nothing.
    seen = metric(second, "pulse_messages_total", outcome="duplicate")
    stack.produce(orjson.dumps(r) for r in stream)
    wait_until(
        lambda: metric(second, "pulse_messages_total", outcome="duplicate") >= seen + len(stream),
        60,
        "the stream consumed again",
    )
    assert alert_ids(stack.database_url) == first_ids
    assert stored(stack.database_url) == len(stream)

    # Ops read a syndicate's live windows on Faust's own table page; nobody else may.
    window_counts_are_on_the_table_page(stack, second, stream, "syn-07")


def window_counts_are_on_the_table_page(
    stack: Stack, worker: Worker, stream: list[dict], syndicate: str
) -> None:
    # The events the windows counted: in stream order, none more than 2 minutes behind the newest.
    times: list[datetime] = []
    for r in stream:
        if r["syndicate_id"] == syndicate:
            at = datetime.fromisoformat(r["transaction_date"])
            if not times or at >= max(times) - timedelta(minutes=2):
                times.append(at)
    times.sort()
    newest = times[-1]
    last_5 = sum(newest - timedelta(minutes=5) < t for t in times)
    hour_before = sum(
        newest - timedelta(minutes=65) < t <= newest - timedelta(minutes=5) for t in times
    )
    path = f"/table/spike-windows/{syndicate}/"
    status, page = ops_get(worker, path)
    assert status == 200, page
    assert (page["last_5_minutes"], page["previous_hour"]) == (last_5, hour_before)
    assert page["syndicate_id"] == syndicate
    assert datetime.fromisoformat(page["as_of"]) == newest
    manager = issue_token(stack, "fm-reader", "fund_manager", manager_id="fm-1")
    assert Api(worker.port, manager).get(path)[0] == 403


def test_a_kill_right_after_a_burst_below_the_level_raises_no_false_spike(
    stack: Stack, workers: list[Worker]
):
    # One per minute for 90 minutes: the spike level is 10 in any 1 minute, 20 in 2, ... 50 in 5.
    steady = [record(f"s-{i}", "syn-q", T0 + timedelta(minutes=i)) for i in range(90)]
    burst_at = T0 + timedelta(minutes=90)
    # 8 a minute for 4 minutes stays below every level, if (and only if) counted once.
    burst = [record(f"b-{i}", "syn-q", burst_at + timedelta(seconds=7.5 * i)) for i in range(32)]
    stream = steady + burst
    assert oracle.expected_alerts(stream) == set()
    assert oracle.expected_alerts(stream + burst_copy_with_new_ids(burst)), (
        "twice the burst would be a spike"
    )

    stack.produce(orjson.dumps(r) for r in stream)
    first = Worker(stack, "first", **NO_COMMITS).start()
    workers.append(first)
    wait_stored(stack, first, len(stream))
    first.kill()  # nothing committed: the whole stream is redelivered
    second = Worker(stack, "second").start()
    workers.append(second)
    wait_until(
        lambda: (
            second.assert_alive()
            or metric(second, "pulse_messages_total", outcome="duplicate") >= len(stream)
        ),
        90,
        "the whole stream redelivered to the second worker",
    )
    assert stored(stack.database_url) == len(stream)
    assert alerts_in_db(stack.database_url) == set()


def burst_copy_with_new_ids(burst: list[dict]) -> list[dict]:
    return [{**r, "transaction_id": r["transaction_id"] + "-copy"} for r in burst]


def test_late_events_are_stored_but_not_counted_in_spike_windows(
    stack: Stack, workers: list[Worker]
):
    ten = T0 + timedelta(hours=1)
    stream = [
        record("late-0", "syn-l", ten),
        record("late-1", "syn-l", ten - timedelta(minutes=2)),  # exactly at the allowance: counted
        record("late-2", "syn-l", ten - timedelta(minutes=2, seconds=1)),  # late
        record(
            "late-3", "syn-l", ten - timedelta(hours=1), amount="20000.00"
        ),  # late, still a large alert
    ]
    stack.produce(orjson.dumps(r) for r in stream)
    worker = Worker(stack).start()
    workers.append(worker)
    wait_stored(stack, worker, len(stream))
    with db.connect(stack.database_url) as conn:
        flags = dict(
            conn.execute("SELECT transaction_id, in_spike_window FROM transactions").fetchall()
        )
    assert flags == {"late-0": True, "late-1": True, "late-2": False, "late-3": False}
    wait_until(lambda: alerts_in_db(stack.database_url), 10, "the large-transaction alert")
    assert alerts_in_db(stack.database_url) == {("large_transaction", "syn-l", "late-3")}


def test_a_settings_change_reaches_a_running_worker(stack: Stack, workers: list[Worker]):
    worker = Worker(stack).start()
    workers.append(worker)
    stack.produce([orjson.dumps(record("before", "syn-s", T0, amount="600.00"))])
    wait_stored(stack, worker, 1)
    assert alerts_in_db(stack.database_url) == set()

    shown = json.loads(
        stack.pulse(
            "syndicates", "set", "syn-s", "--name", "Seed Fund", "--threshold", "500"
        ).stdout
    )
    assert shown["threshold"] == "500.00"
    assert shown["name"] == "Seed Fund"
    changed_at = time.monotonic()
    stack.produce(
        [orjson.dumps(record("after", "syn-s", T0 + timedelta(seconds=1), amount="600.00"))]
    )
    wait_until(lambda: alerts_in_db(stack.database_url), 10, "the alert under the new threshold")
    assert time.monotonic() - changed_at < 10
    assert alerts_in_db(stack.database_url) == {("large_transaction", "syn-s", "after")}
    (alert,) = json.loads(stack.pulse("alerts", "list", "--json").stdout)
    assert (alert["observed"], alert["expected"]) == ("600.00", "500.00")
    published = stack.read_topic("alerts", 1)
    assert json.loads(published[0].value)["syndicate_name"] == "Seed Fund"

    show = json.loads(stack.pulse("syndicates", "show", "syn-s", "--json").stdout)
    assert show["threshold"] == "500.00"
    assert show["enabled"] is True
    refused = stack.pulse("syndicates", "set", "syn-s", "--threshold", "5.005", check=False)
    assert refused.returncode == 1
    assert "more than 2 decimal places" in refused.stderr

    # The evidence level: a syndicate asking for 1 in 10^15 hears nothing of a short burst that the
    # default level (1 in a million) alerts on.
    strict = json.loads(
        stack.pulse("syndicates", "set", "syn-e", "--spike-evidence", "1e15").stdout
    )
    assert strict["spike_evidence"] == "1000000000000000"
    for bad in ("1", "NaN", "1e16", "lots"):
        refused = stack.pulse("syndicates", "set", "syn-e", "--spike-evidence", bad, check=False)
        assert refused.returncode == 1
        assert "--spike-evidence must be from 2 to 10^15" in refused.stderr or "not a number" in (
            refused.stderr
        )
    stream = []
    for syndicate in ("syn-e", "syn-d"):
        stream += [
            record(f"{syndicate}-s{i}", syndicate, T0 + timedelta(minutes=i)) for i in range(90)
        ]
        burst = T0 + timedelta(minutes=90)
        stream += [
            record(f"{syndicate}-b{i}", syndicate, burst + timedelta(seconds=6 * i))
            for i in range(20)
        ]
    stack.produce(orjson.dumps(r) for r in stream)
    wait_stored(stack, worker, 2 + len(stream))
    spikes = {(s, t) for kind, s, t in alerts_in_db(stack.database_url) if kind == "spike"}
    default = {(s, t) for kind, s, t in oracle.expected_alerts(stream) if kind == "spike"}
    assert {s for s, _ in default} == {"syn-e", "syn-d"}  # both, at the default level
    assert spikes == {(s, t) for s, t in default if s == "syn-d"}
