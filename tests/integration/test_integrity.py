"""`pulse verify` and `pulse rebuild` on a running worker, from the outside: the spike windows in
the table's changelog and alert publication on topic alerts, each tampered with behind the
worker's back, named by verify and repaired by rebuild."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.platform import db
from tests.harness import Stack, Worker, transaction, wait_until

pytestmark = pytest.mark.integration
START = datetime(2026, 3, 1, tzinfo=UTC)
CHANGELOG = "syndicate-pulse-spike-windows-changelog"


def stored(stack: Stack) -> int:
    with db.connect(stack.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM transactions").fetchone()
    return row[0] if row else 0


def alerts_of(stack: Stack, syndicate: str) -> set[tuple[str, str]]:
    with db.connect(stack.database_url) as conn:
        found = conn.execute(
            "SELECT kind, transaction_id FROM alerts WHERE syndicate_id = %s", (syndicate,)
        ).fetchall()
    return {(r[0], r[1]) for r in found}


def verify(stack: Stack, what: str) -> tuple[int, list[dict]]:
    found = stack.pulse("verify", "--json", "--what", what, check=False)
    return found.returncode, json.loads(found.stdout)["differences"]


def test_windows_and_alert_publication_verified_and_rebuilt(stack: Stack, workers: list[Worker]):
    worker = Worker(stack).start()
    workers.append(worker)
    # Three syndicates a minute apart each for two hours, a large transaction in one of them.
    records = [
        transaction(f"tx-{s}-{m}", f"syn-{s}", START + timedelta(minutes=m, seconds=s))
        for m in range(120)
        for s in range(3)
    ]
    records.append(transaction("tx-large", "syn-0", START + timedelta(hours=2), "50000.00"))
    stack.produce(orjson.dumps(r) for r in records)
    wait_until(lambda: stored(stack) == len(records), 90, "every transaction stored")
    wait_until(lambda: verify(stack, "all")[0] == 0, 30, "verify to agree (tables settled)")

    # While batches are in flight (committed, their table writes not yet landed), the windows
    # still agree: each is compared with the rows up to the offset it applied.
    busy = [
        transaction(f"busy-{s}-{n}", f"syn-{s}", START + timedelta(hours=2, seconds=n))
        for n in range(3000)
        for s in range(3)
    ]
    stack.produce(orjson.dumps(r) for r in busy)
    seen_in_flight = 0
    while stored(stack) < len(records) + len(busy):
        code, differences = verify(stack, "windows")
        assert (code, differences) == (0, [])
        seen_in_flight += 1
    assert seen_in_flight > 0
    records += busy

    # Behind the worker's back: a head of the table loses a counted time in the changelog.
    heads = [r for r in stack.read_topic(CHANGELOG, 1) if r.key == b"syn-1" and r.value is not None]
    head = orjson.loads(heads[-1].value)
    assert head["open"], head
    dropped = head["open"].pop()
    stack.produce_raw(CHANGELOG, [(b"syn-1", orjson.dumps(head), heads[-1].partition)])
    code, differences = verify(stack, "windows")
    assert code == 1
    assert {d["subject"] for d in differences} == {"syndicate syn-1"}
    assert any(str(dropped) in d["detail"] for d in differences)
    # A record that is not even JSON is named, not a crash; a tombstone takes it away again.
    where = heads[-1].partition
    stack.produce_raw(CHANGELOG, [(b"syn-garbage", b"{not json", where)])
    code, differences = verify(stack, "windows")
    assert code == 1
    assert f"changelog partition {where}" in {d["subject"] for d in differences}
    stack.produce_raw(CHANGELOG, [(b"syn-garbage", None, where)])

    # A stored alert marked published that topic alerts never got.
    with db.connect(stack.database_url, autocommit=True) as conn:
        ghost = uuid.uuid4()
        conn.execute(
            "INSERT INTO alerts (alert_id, kind, syndicate_id, transaction_id, observed, expected,"
            " event_time, details, published_at)"
            " SELECT %s, kind, syndicate_id, 'tx-ghost', observed, expected, event_time, details,"
            " now() FROM alerts WHERE transaction_id = 'tx-large'",
            (ghost,),
        )
    code, differences = verify(stack, "alerts")
    assert code == 1
    assert [d["subject"] for d in differences] == [f"alert {ghost}"]

    # Under today's rules every past transaction of syn-1 would be large: a rebuild applies the
    # history again without deciding its alerts again.
    stack.pulse("syndicates", "set", "syn-1", "--threshold", "1.00")
    before = alerts_of(stack, "syn-1")
    with db.connect(stack.database_url) as conn:
        partitions = conn.execute("SELECT count(*) FROM partition_state").fetchone()
    assert partitions is not None
    rebuilt = stack.pulse("rebuild", "--what", "windows").stdout
    assert f"windows: {partitions[0]} partitions rebuilt" in rebuilt
    assert "alerts: 1 alerts marked" in stack.pulse("rebuild", "--what", "alerts").stdout
    # The partition's next batch rebuilds its windows from PostgreSQL; the relay republishes.
    late = transaction("tx-next", "syn-1", START + timedelta(hours=2, minutes=1))
    stack.produce([orjson.dumps(late)])
    wait_until(lambda: stored(stack) == len(records) + 1, 30, "the next transaction stored")
    wait_until(lambda: verify(stack, "all")[0] == 0, 45, str(verify(stack, "all")))
    assert alerts_of(stack, "syn-1") == before | {("large_transaction", "tx-next")}
    worker.assert_alive()
