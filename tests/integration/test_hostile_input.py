"""Hostile input on every topic a worker reads, from the outside: a real broker, PostgreSQL and worker.

Valid-but-hostile values (text PostgreSQL cannot store, dates far ahead and far back, sums beyond any
fixed precision, ids with separators, a producer with another partitioner, a producer whose clock runs
behind) never stop the worker: each bad message is dead-lettered with its reason, everything else is
stored exactly once, and the alerts equal an independent oracle's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from pipeline.devtools import oracle
from pipeline.platform import db
from pipeline.platform.partitioning import partition_for
from tests.harness import Stack, Worker, transaction, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.serial]
NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(hours=3)
MAX_AMOUNT = "999999999999999999.99"


record = transaction


def steady(syndicate: str, rng: random.Random, burst_at: datetime | None, shift=timedelta()):
    """Two hours and a half of ~2 a minute, a 30x burst of four minutes at ``burst_at``; each event
    stamped ``shift`` off its true time (a producer whose clock runs behind)."""
    out, moment, n = [], T0 + timedelta(seconds=rng.uniform(0, 30)), 0
    while moment < T0 + timedelta(hours=2, minutes=30):
        amount = "15000.00" if rng.random() < 0.01 else f"{rng.randint(10, 9000)}.00"
        out.append((moment, record(f"{syndicate}/{n}", syndicate, moment + shift, amount)))
        n += 1
        burst = burst_at is not None and burst_at <= moment < burst_at + timedelta(minutes=4)
        moment += timedelta(seconds=rng.expovariate(1 if burst else 1 / 30))
    return out


def keyed(doc: dict) -> tuple[bytes, bytes, None]:
    return str(doc["syndicate_id"]).encode(), orjson.dumps(doc), None


def hostile_values() -> list[tuple[bytes, str]]:
    """(raw JSON value, the reason it must be dead-lettered with)."""
    base = record("h", "syn-0", T0 + timedelta(minutes=1))
    raw = orjson.dumps(base)
    out = []
    for field, text in [
        ("syndicate_id", r"syn\u0000"),
        ("syndicate_id", r"\ud800"),
        ("transaction_id", r"t\u0000x"),
        ("transaction_id", r"\udfff"),
        ("investor_id", r"inv\ud83d"),
        ("investor_id", r"\u0000"),
    ]:
        old = f'"{field}":"{base[field]}"'.encode()
        out.append((raw.replace(old, f'"{field}":"{text}"'.encode()), "bad_text"))
    for date, reason in [
        ("2099-01-01T00:00:00Z", "future_date"),
        ("9999-12-31T23:59:59-23:59", "future_date"),
        ((NOW + timedelta(hours=1)).isoformat(), "future_date"),
        ("1900-01-01T00:00:00Z", "past_date"),
        ("0001-01-01T00:00:00+14:00", "past_date"),
    ]:
        out.append((orjson.dumps({**base, "transaction_date": date}), reason))
    out.append(
        (orjson.dumps({**base, "transaction_amount": "1000000000000000000.00"}), "bad_amount")
    )
    return [(v.replace(b'"h"', f'"h{i}"'.encode()), r) for i, (v, r) in enumerate(out)]


def test_hostile_transactions_are_dead_lettered_and_everything_else_is_exact(
    stack: Stack, workers: list[Worker]
):
    rng = random.Random(12)
    burst = T0 + timedelta(hours=2)
    timed = []
    # Ids with separators: "a/b" + "c" and "a" + "b/c" are different alerts.
    for syndicate in ("syn-0", "a/b", "a", "x|y:z"):
        timed += steady(syndicate, rng, burst if syndicate == "a/b" else None)
    timed.append(
        (T0 + timedelta(minutes=3), record("c", "a/b", T0 + timedelta(minutes=3), "20000.00"))
    )
    timed.append(
        (T0 + timedelta(minutes=3), record("b/c", "a", T0 + timedelta(minutes=3), "20000.00"))
    )
    # A producer whose clock runs ten minutes behind its partition-mates: its spike still counts.
    lagging = steady("lagging", rng, burst, shift=-timedelta(minutes=10))
    timed += lagging
    # A producer with another partitioner: every message of this syndicate on the wrong partition.
    rerouted = steady("rerouted", rng, burst)
    timed += rerouted
    timed.sort(key=lambda x: x[0])
    valid = [doc for _, doc in timed]
    wrong = (partition_for(b"rerouted", 4) + 1) % 4
    records = [
        (b"rerouted", orjson.dumps(doc), wrong) if doc["syndicate_id"] == "rerouted" else keyed(doc)
        for doc in valid
    ]
    # Sums beyond NUMERIC(24, 2): 10,001 transactions of the largest amount for one investor.
    whale = [
        record(f"whale-{i}", f"whale-{i % 3}", T0 + timedelta(milliseconds=i), MAX_AMOUNT, "whale")
        for i in range(10_001)
    ]
    records += [keyed(doc) for doc in whale]
    hostile = hostile_values()
    for value, _ in hostile:
        records.insert(rng.randint(0, len(records)), (b"syn-0", value, None))
    stack.produce_raw("transactions", records)

    worker = Worker(stack).start()
    workers.append(worker)
    expected = valid + whale
    url = stack.database_url

    def count(sql: str) -> int:
        with db.connect(url) as conn:
            return conn.execute(sql).fetchone()[0]

    wait_until(
        lambda: (
            worker.assert_alive() or count("SELECT count(*) FROM transactions") >= len(expected)
        ),
        240,
        "every valid transaction stored",
    )
    wait_until(
        lambda: count("SELECT count(*) FROM dead_letters") >= len(hostile), 60, "dead letters"
    )
    worker.assert_alive()

    with db.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == len(expected)
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))
        totals = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                "SELECT investor_id, syndicate_count, total_invested, transaction_count FROM investor_totals"
            )
        }
        stored_alerts = {
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT kind, syndicate_id, transaction_id FROM alerts")
        }
    assert reasons == sorted(r for _, r in hostile)
    want = {
        k: (len(v.syndicates), v.total, v.count)
        for k, v in oracle.investor_totals(expected).items()
    }
    assert totals == want
    assert totals["whale"][1] == Decimal(MAX_AMOUNT) * 10_001
    expected_alerts = oracle.expected_alerts_fast(expected)
    assert stored_alerts == expected_alerts
    spikes = {s for kind, s, _ in expected_alerts if kind == "spike"}
    assert {"a/b", "lagging", "rerouted"} <= spikes
    assert ("large_transaction", "a/b", "c") in stored_alerts
    assert ("large_transaction", "a", "b/c") in stored_alerts

    dlq = stack.read_topic("transactions-dlq", len(hostile))
    assert sorted(dict(r.headers)["pulse.reason"].decode() for r in dlq) == reasons
    assert sorted(r.value for r in dlq) == sorted(v for v, _ in hostile)


def alert_doc(**changes: object) -> dict:
    doc = {
        "alert_id": "2f1e4a7c-5b3d-4c2e-9a1f-0b6c8d7e5f43",
        "kind": "large_transaction",
        "syndicate_id": "syn-m",
        "syndicate_name": None,
        "transaction_id": "t-1",
        "observed": "20000.00",
        "expected": "10000.00",
        "ratio": "2.0000",
        "event_time": "2026-03-01T10:00:00+00:00",
        "window_start": None,
        "window_end": None,
        "detected_at": None,
        "details": {"investor_id": "inv-1", "currency": "USD"},
    }
    return {**doc, **changes}


def command_doc(**changes: object) -> dict:
    doc = {
        "idempotency_key": "k-1",
        "request_hash": "h",
        "type": "commit",
        "pool_id": "p-1",
        "data": {"investor_id": "inv-1", "amount": "10.00"},
    }
    return {**doc, **changes}


GARBAGE = [b"not json", b"[1, 2]", b"", b'"text"', b'{"alert_id": ', b"\xff\xfe"]


def test_garbage_on_the_internal_topics_is_dead_lettered_and_the_agents_go_on(
    stack: Stack, workers: list[Worker]
):
    from pipeline.notify.managers import add_manager, assign
    from tests.harness import api_ready, issue_token

    manager = add_manager(stack.database_url, "Dana", "+14155550100", None, "sms")
    assign(stack.database_url, str(manager), "syn-m")
    bad_alerts = [
        *GARBAGE,
        orjson.dumps(alert_doc(alert_id="not-a-uuid")),
        orjson.dumps(alert_doc(syndicate_id=["syn-m"])),
        orjson.dumps(alert_doc(kind=None)),
        orjson.dumps(alert_doc(kind="other")),
        orjson.dumps(alert_doc(details="x")),
        orjson.dumps(alert_doc(syndicate_id="syn\u0000m")),
        orjson.dumps(alert_doc(details={"investor_id": "\u0000"})),
        orjson.dumps(alert_doc(observed=[1])),
    ]
    bad_commands = [
        *GARBAGE,
        orjson.dumps(command_doc(type="explode")),
        orjson.dumps(command_doc(pool_id=["p"])),
        orjson.dumps(command_doc(data="x")),
        orjson.dumps(command_doc(pool_id="p\u0000")),
        orjson.dumps(command_doc(data={"investor_id": "i", "amount": [1]})),
        orjson.dumps(command_doc(data={"name": "\u0000"}, type="create_pool")),
    ]
    good_alert = orjson.dumps(alert_doc())
    stack.produce_raw(
        "alerts", [(b"syn-m", v, None) for v in bad_alerts] + [(b"syn-m", good_alert, None)]
    )
    stack.produce_raw("pool-commands", [(b"p-1", v, None) for v in bad_commands])
    worker = Worker(stack, PULSE_NOTIFIER_IN_WORKER="false").start()
    workers.append(worker)

    def dead(topic: str) -> int:
        with db.connect(stack.database_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM dead_letters WHERE topic = %s", (topic,)
            ).fetchone()[0]

    # A command that only fails once its data meets the pool's rules is answered, not dead-lettered.
    expected_commands = len(bad_commands) - 1
    wait_until(
        lambda: (
            worker.assert_alive()
            or (dead("alerts"), dead("pool-commands")) == (len(bad_alerts), expected_commands)
        ),
        120,
        "every bad internal message dead-lettered",
    )
    with db.connect(stack.database_url) as conn:
        routed = conn.execute(
            "SELECT count(*) FROM notifications WHERE alert_id = %s",
            (alert_doc()["alert_id"],),
        ).fetchone()[0]
        reasons = dict(
            conn.execute(
                "SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY reason"
            ).fetchall()
        )
    assert routed == 2  # the good alert of the same batches: sms and the log channel
    assert reasons["bad_text"] == 4
    assert set(reasons) <= {"not_json", "not_object", "missing_field", "bad_field", "bad_text"}
    dlq = stack.read_topic("internal-dlq", len(bad_alerts) + expected_commands)
    assert len(dlq) == len(bad_alerts) + expected_commands
    sources = sorted(dict(r.headers)["pulse.source.topic"].decode() for r in dlq)
    assert sources == ["alerts"] * len(bad_alerts) + ["pool-commands"] * expected_commands

    # The pool agent still applies commands: a whole create over HTTP.
    api = api_ready(worker, issue_token(stack, "admin", "admin"))
    status, pool = api.post(
        "/pools",
        {"name": "After", "target_size": "100.00", "hard_cap": "200.00", "manager_id": "m-1"},
        "after-garbage",
    )
    assert status == 201, pool
    status, body = api.post(
        "/pools",
        {"name": "bad\u0000", "target_size": "1.00", "hard_cap": "2.00", "manager_id": "m"},
        "nul",
    )
    assert status == 422, body
    assert api.get("/pools/p%00")[0] == 404
    worker.assert_alive()


@pytest.mark.parametrize("stop", ["crash", "sigterm"])
def test_a_batch_blocked_in_the_database_is_never_acknowledged_when_the_worker_stops(
    stack: Stack, workers: list[Worker], stop: str
):
    """A batch waits on a lock inside PostgreSQL; then the app crashes beside it (a service raises)
    or the worker is asked to stop. Neither acknowledges the unwritten batch, and a clean stop does
    not hang on it. Either way the next worker ends with every produced transaction exactly once."""
    import psycopg

    trigger = stack.data_dir / "crash-now"
    first = [record(f"early-{i}", f"syn-{i % 4}", T0 + timedelta(seconds=i)) for i in range(200)]
    later = [
        record(f"late-{i}", f"syn-{i % 4}", T0 + timedelta(hours=1, seconds=i)) for i in range(300)
    ]
    worker = Worker(
        stack, "w1", module="pipeline.devtools.crashing_worker", PULSE_TEST_CRASH_FILE=str(trigger)
    ).start()
    workers.append(worker)
    stack.produce([orjson.dumps(d) for d in first])
    url = stack.database_url

    def stored() -> int:
        with db.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM transactions").fetchone()[0]

    wait_until(lambda: worker.assert_alive() or stored() == len(first), 90, "the first batch")
    with psycopg.connect(db.libpq_url(url)) as blocker:
        blocker.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
        stack.produce([orjson.dumps(d) for d in later])

        def sink_waits_on_the_lock() -> bool:
            with db.connect(url, autocommit=True) as conn:
                return bool(
                    conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    ).fetchone()[0]
                )

        wait_until(sink_waits_on_the_lock, 60, "the sink blocked inside PostgreSQL")
        if stop == "crash":
            trigger.touch()
            worker.proc.wait(60)
        else:
            # A clean stop does not wait on a batch blocked in the database: the batch is cancelled
            # unacknowledged (the next worker gets it again) and the worker leaves in time.
            worker.proc.terminate()
            assert worker.proc.wait(30) == 0
        # Read through the session that holds the lock: anyone else would wait on it.
        assert blocker.execute("SELECT count(*) FROM transactions").fetchone()[0] == len(first)
        blocker.rollback()
    assert stored() == len(first)  # the blocked batch left with the worker, never committed
    replacement = Worker(stack, "w2").start()
    workers.append(replacement)
    wait_until(
        lambda: replacement.assert_alive() or stored() >= len(first) + len(later),
        120,
        "the blocked batch redelivered to the next worker",
    )
    with db.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == 500
        total = conn.execute("SELECT sum(transaction_count) FROM investor_totals").fetchone()[0]
    assert total == 500
