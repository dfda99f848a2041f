"""What ops see and do: health, readiness, metrics, dead letters, and two workers sharing the work."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.devtools import oracle
from pipeline.devtools.generate import GeneratorSpec, generate
from pipeline.devtools.observability import missing
from pipeline.platform import db
from tests.harness import Stack, Worker, api_ready, issue_token, wait_until
from tests.integration.test_pools_api import POOL

pytestmark = pytest.mark.integration


def get(worker: Worker, path: str) -> tuple[int, bytes]:
    """As ops: the role that may see health, readiness, metrics and the stats pages."""
    token = issue_token(worker.stack, "ops", "ops")
    request = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def ready(worker: Worker) -> dict:
    def check() -> dict | None:
        worker.assert_alive()
        status, body = get(worker, "/ready")
        return json.loads(body) if status == 200 else None

    return wait_until(check, 60, "the worker to be ready")


def stored(stack: Stack) -> int:
    with db.connect(stack.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM transactions").fetchone()
    return row[0] if row else 0


def months_ahead(stack: Stack) -> list[str]:
    """The partitions of transactions for the months after this one."""
    with db.connect(stack.database_url) as conn:
        found = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'transactions'::regclass"
            " AND inhrelid::regclass::text > 'transactions_y' || to_char(now(), 'YYYY\"m\"MM')"
            " AND inhrelid::regclass::text <> 'transactions_default'"
        ).fetchall()
    return sorted(r[0] for r in found)


def test_health_ready_and_metrics(stack: Stack, workers: list[Worker]):
    # The coming months' partitions are gone: the worker makes them again at start.
    with db.connect(stack.database_url, autocommit=True) as conn:
        for name in months_ahead(stack):
            conn.execute(f'DROP TABLE "{name}"')
    assert months_ahead(stack) == []
    worker = Worker(stack).start()
    workers.append(worker)
    wait_until(lambda: get(worker, "/health")[0] == 200, 60, "/health")
    assert json.loads(get(worker, "/health")[1]) == {"status": "ok"}
    body = ready(worker)
    assert body["postgres"] == "ok"
    assert body["partitions_assigned"] > 0
    records = list(generate(GeneratorSpec(50, 10, 500, 3, datetime(2026, 3, 1, tzinfo=UTC), 1.0)))
    stack.produce([*(orjson.dumps(r) for r in records), b"garbage"])
    wait_until(lambda: stored(stack) == 500, 60, "500 stored")
    wait_until(lambda: b"pulse_dead_letters_total" in get(worker, "/metrics")[1], 10, "metrics")
    text = get(worker, "/metrics")[1].decode()
    assert 'pulse_messages_total{outcome="inserted"} 500.0' in text
    assert 'pulse_dead_letters_total{reason="not_json",topic="transactions"} 1.0' in text
    assert "pulse_sink_batch_seconds_bucket" in text
    assert 'pulse_consumer_lag{partition="0",topic="transactions"}' in text
    # Every series the provisioned Grafana dashboard and the Prometheus rules read is here.
    exposed = {family.name for family in text_string_to_metric_families(text)}
    assert missing(exposed) == {}
    assert "pulse_partitions_assigned" in exposed
    assert len(months_ahead(stack)) == 3  # PULSE_PARTITION_MONTHS_AHEAD's default


def test_dead_letters_are_listed_and_fixed_ones_replayed(
    stack: Stack, workers: list[Worker], tmp_path
):
    worker = Worker(stack).start()
    workers.append(worker)
    good = {
        "transaction_id": "t1",
        "investor_id": "i",
        "syndicate_id": "s",
        "transaction_amount": "10.00",
        "transaction_date": "2026-03-01T10:00:00Z",
    }
    bad = {**good, "transaction_date": "2026-03-01T10:00:00"}  # no offset
    stack.produce([orjson.dumps(bad), b"[1]"])
    wait_until(
        lambda: len(json.loads(stack.pulse("dlq", "list", "--json").stdout)) == 2,
        60,
        "two dead letters",
    )
    letters = json.loads(stack.pulse("dlq", "list", "--json").stdout)
    assert sorted(r["reason"] for r in letters) == ["bad_date", "not_object"]
    assert {r["value"] for r in letters} == {orjson.dumps(bad).decode(), "[1]"}

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_bytes(orjson.dumps(good) + b"\n")
    stack.pulse("dlq", "replay", "--file", str(fixed))
    wait_until(lambda: stored(stack) == 1, 30, "the fixed transaction")
    stack.pulse("dlq", "replay", "--file", str(fixed))  # replaying again changes nothing
    stack.pulse(
        "dlq", "replay", "--reason", "bad_date"
    )  # still bad: back to the DLQ, nothing stored
    wait_until(
        lambda: len(json.loads(stack.pulse("dlq", "list", "--json").stdout)) == 3,
        30,
        "the re-dead-lettered one",
    )
    assert stored(stack) == 1


def test_two_workers_share_the_partitions_and_one_takes_over(stack: Stack, workers: list[Worker]):
    a = Worker(stack, "a").start()
    b = Worker(stack, "b").start()
    workers += [a, b]

    def shared() -> bool:
        ra, rb = get(a, "/ready"), get(b, "/ready")
        if ra[0] != 200 or rb[0] != 200:
            return False
        return (
            json.loads(ra[1])["partitions_assigned"] > 0
            and json.loads(rb[1])["partitions_assigned"] > 0
        )

    wait_until(shared, 90, "both workers to own partitions")
    # Any worker answers any pool request, whichever of them owns the command's partition: the
    # requests alternate between the two, as a load balancer would send them.
    token = issue_token(stack, "admin", "admin")
    apis = [api_ready(a, token), api_ready(b, token)]
    status, pool = apis[0].post("/pools", {**POOL, "name": "Alternating"}, "alt-create")
    assert status == 201, pool
    for n in range(8):
        status, body = apis[n % 2].post(
            f"/pools/{pool['id']}/commitments",
            {"investor_id": f"inv-{n}", "amount": "1000.01"},
            f"alt-commit-{n}",
        )
        assert status == 201, body
    status, read = apis[1].get(f"/pools/{pool['id']}")
    assert status == 200
    assert Decimal(read["committed"]) == Decimal("8000.08")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    first = list(generate(GeneratorSpec(200, 40, 4000, 8, start, 2.0)))
    second = list(generate(GeneratorSpec(200, 40, 4000, 9, start + timedelta(hours=1), 2.0)))
    stack.produce(orjson.dumps(r) for r in first)
    wait_until(lambda: stored(stack) == len(first), 60, "the first half")
    b.stop()
    stack.produce(orjson.dumps(r) for r in second)
    wait_until(
        lambda: stored(stack) == len(first) + len(second), 90, "the second half, by the survivor"
    )
    a.assert_alive()
    assert json.loads(stack.pulse("top-investors", "--json").stdout) == oracle.top(first + second)
    with db.connect(stack.database_url) as conn:
        totals = dict(
            conn.execute("SELECT investor_id, total_invested FROM investor_totals").fetchall()
        )
    assert totals == {k: v.total for k, v in oracle.investor_totals(first + second).items()}
    # Every derived state agrees with its source: aggregates, the pool, alert publication.
    verified = stack.pulse("verify", "--json", check=False)
    assert json.loads(verified.stdout) == {
        "ok": True,
        "checked": ["aggregates", "windows", "pools", "alerts"],
        "differences": [],
    }, verified.stderr
