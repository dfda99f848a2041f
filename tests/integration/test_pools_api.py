"""Investment pools over HTTP, through the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from pipeline.platform import db
from pipeline.platform.reading import read_to_end
from tests.harness import Api, Stack, Worker, api_ready, issue_token, wait_until

pytestmark = pytest.mark.integration


def ready(worker: Worker) -> Api:
    return api_ready(worker, issue_token(worker.stack, "admin", "admin"))


def count(stack: Stack, table: str) -> int:
    with db.connect(stack.database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return row[0] if row else 0


def assert_every_event_published(stack: Stack) -> None:
    """Each stored event is on topic ``pool-events``, each pool's in order, and none is left in the
    outbox: the worker answers before the broker acknowledges the events, and marks them after."""
    wait_until(lambda: count(stack, "pool_events_unpublished") == 0, 10, "the outbox to empty")
    with db.connect(stack.database_url) as conn:
        stored = conn.execute("SELECT pool_id, seq, type FROM pool_events ORDER BY 1, 2").fetchall()
    records = asyncio.run(read_to_end(stack.bootstrap, "pool-events"))
    published = [
        (d["pool_id"], d["seq"], d["type"]) for d in (json.loads(r.value) for r in records)
    ]
    assert sorted(set(published)) == [tuple(r) for r in stored]
    for pool_id in {p for p, _, _ in published}:
        seqs = [seq for p, seq, _ in published if p == pool_id]
        assert seqs == sorted(seqs), pool_id


POOL = {
    "name": "Fund I",
    "currency": "USD",
    "target_size": "100000.00",
    "hard_cap": "150000.00",
    "manager_id": "m-1",
}


def test_a_full_life_cycle_with_the_documented_allocation(stack: Stack, workers: list[Worker]):
    worker = Worker(stack).start()
    workers.append(worker)
    api = ready(worker)
    status, pool = api.post("/pools", POOL, "create-1")
    assert status == 201
    assert pool["status"] == "open"
    pid = pool["id"]
    commitments = {"inv-a": "12345.67", "inv-b": "23456.78", "inv-c": "34567.89"}
    for investor, amount in commitments.items():
        status, body = api.post(
            f"/pools/{pid}/commitments",
            {"investor_id": investor, "amount": amount},
            f"c-{investor}",
        )
        assert status == 201, body
        assert body["position"]["committed"] == amount
    status, call = api.post(
        f"/pools/{pid}/capital-calls", {"percent": "50", "due_date": "2026-04-01"}, "call-1"
    )
    assert status == 201, call
    assert (
        sum(Decimal(a) for a in call["allocations"].values())
        == Decimal(call["amount"])
        == Decimal("35185.17")
    )
    status, call2 = api.post(
        f"/pools/{pid}/capital-calls", {"percent": 50, "due_date": "2026-05-01"}, "call-2"
    )
    assert status == 201, call2
    for (
        investor,
        amount,
    ) in commitments.items():  # everything called is paid, first call in two parts
        first = Decimal(call["allocations"][investor])
        half = (first / 2).quantize(Decimal("0.01"))
        for n, part in enumerate((half, first - half)):
            status, body = api.post(
                f"/pools/{pid}/contributions",
                {"investor_id": investor, "call_id": call["call_id"], "amount": str(part)},
                f"pay-1-{investor}-{n}",
            )
            assert status == 201, body
        status, body = api.post(
            f"/pools/{pid}/contributions",
            {
                "investor_id": investor,
                "call_id": call2["call_id"],
                "amount": call2["allocations"][investor],
            },
            f"pay-2-{investor}",
        )
        assert status == 201, body
        assert body["position"]["contributed"] == amount
        assert body["position"]["unfunded"] == "0.00"
    status, over = api.post(
        f"/pools/{pid}/contributions",
        {"investor_id": "inv-a", "call_id": call["call_id"], "amount": "0.01"},
        "over",
    )
    assert status == 409
    assert "exceeds" in over["error"]
    status, dist = api.post(f"/pools/{pid}/distributions", {"amount": "100000.00"}, "dist-1")
    assert status == 201, dist
    assert dist["allocations"] == {"inv-a": "17543.86", "inv-b": "33333.33", "inv-c": "49122.81"}
    status, closed = api.post(f"/pools/{pid}/close", None, "close-1")
    assert (status, closed["status"]) == (200, "closed")
    status, late = api.post(
        f"/pools/{pid}/commitments", {"investor_id": "inv-d", "amount": "1.00"}, "late"
    )
    assert status == 409
    assert "closed" in late["error"]

    status, totals = api.get(f"/pools/{pid}")
    assert status == 200
    assert {k: totals[k] for k in ("committed", "called", "contributed", "distributed")} == {
        "committed": "70370.34",
        "called": "70370.34",
        "contributed": "70370.34",
        "distributed": "100000.00",
    }
    status, positions = api.get(f"/pools/{pid}/positions")
    assert [(p["investor_id"], p["distributed"]) for p in positions] == [
        ("inv-a", "17543.86"),
        ("inv-b", "33333.33"),
        ("inv-c", "49122.81"),
    ]
    status, second = api.post("/pools", {**POOL, "name": "Fund II"}, "create-2")
    api.post(
        f"/pools/{second['id']}/commitments", {"investor_id": "inv-a", "amount": "5.00"}, "c2-a"
    )
    status, mine = api.get("/investors/inv-a/positions")
    assert status == 200
    assert sorted((p["pool_id"], p["committed"]) for p in mine) == sorted(
        [(pid, "12345.67"), (second["id"], "5.00")]
    )

    assert_every_event_published(stack)
    assert stack.pulse("pools", "reconcile").returncode == 0
    with db.connect(stack.database_url) as conn:
        conn.execute(
            "UPDATE pool_positions SET distributed = distributed + 0.01 WHERE investor_id = 'inv-b'"
        )
    tampered = stack.pulse("pools", "reconcile", pid, check=False)
    assert tampered.returncode == 1
    assert "position of inv-b" in tampered.stdout


def test_idempotency_and_clear_errors(stack: Stack, workers: list[Worker]):
    worker = Worker(stack).start()
    workers.append(worker)
    api = ready(worker)
    first = api.post("/pools", POOL, "same")
    assert first == api.post("/pools", POOL, "same")  # same key and body: same answer
    assert count(stack, "pool_events") == 1
    status, body = api.post("/pools", {**POOL, "name": "Other"}, "same")
    assert status == 409
    assert "different request" in body["error"]
    pid = first[1]["id"]
    commit = {"investor_id": "inv-a", "amount": "10.00"}
    one = api.post(f"/pools/{pid}/commitments", commit, "commit-a")
    assert one == api.post(f"/pools/{pid}/commitments", commit, "commit-a")
    assert count(stack, "pool_events") == 2

    assert api.post(f"/pools/{pid}/commitments", commit, None)[0] == 400
    traced = urllib.request.Request(
        f"{api.base}/pools/{pid}",
        headers={"X-Request-Id": "trace-42", "Authorization": f"Bearer {api.token}"},
    )
    with urllib.request.urlopen(traced, timeout=10) as response:
        assert response.headers["X-Request-Id"] == "trace-42"
    wait_until(
        lambda: "request trace-42 admin GET /pools/" in worker.log(), 10, "the request in the log"
    )
    status, body = api.post(
        f"/pools/{pid}/commitments", {"investor_id": "", "amount": "1.001"}, "bad"
    )
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"investor_id", "amount"}
    assert api.post(f"/pools/{pid}/commitments", b"{not json", "bad-json")[0] == 422
    status, body = api.post(
        f"/pools/{pid}/capital-calls",
        {"percent": 10, "amount": "5.00", "due_date": "2026-01-01"},
        "both",
    )
    assert status == 422
    assert "exactly one" in json.dumps(body)
    assert api.post("/pools/unknown/commitments", commit, "ghost")[0] == 404
    assert api.get("/pools/unknown")[0] == 404
    status, body = api.post(
        f"/pools/{pid}/commitments", {"investor_id": "b", "amount": "149990.01"}, "too-much"
    )
    assert status == 409
    assert "hard cap" in body["error"]
    assert count(stack, "pool_events") == 2


def test_concurrent_commitments_over_the_cap_exactly_one_wins(stack: Stack, workers: list[Worker]):
    worker = Worker(stack).start()
    workers.append(worker)
    api = ready(worker)
    _, pool = api.post("/pools", {**POOL, "target_size": "100.00", "hard_cap": "100.00"}, "cap")
    pid = pool["id"]
    with ThreadPoolExecutor(8) as pool_of_threads:
        results = list(
            pool_of_threads.map(
                lambda n: api.post(
                    f"/pools/{pid}/commitments",
                    {"investor_id": f"i{n}", "amount": "60.00"},
                    f"k{n}",
                ),
                range(8),
            )
        )
    assert sorted(r[0] for r in results) == [201] + [409] * 7
    assert api.get(f"/pools/{pid}")[1]["committed"] == "60.00"


def test_a_worker_killed_between_commands_loses_and_doubles_nothing(
    stack: Stack, workers: list[Worker]
):
    first = Worker(stack, "first").start()
    workers.append(first)
    api = ready(first)
    _, pool = api.post("/pools", POOL, "kill-pool")
    pid = pool["id"]
    answers = {}
    for n in range(10):
        answers[n] = api.post(
            f"/pools/{pid}/commitments", {"investor_id": f"i{n}", "amount": "100.00"}, f"kc{n}"
        )
    first.kill()
    second = Worker(stack, "second").start()
    workers.append(second)
    api = ready(second)
    # Clients retry everything they are unsure of, with the same keys; then carry on.
    for n in range(20):
        status, body = api.post(
            f"/pools/{pid}/commitments", {"investor_id": f"i{n}", "amount": "100.00"}, f"kc{n}"
        )
        assert status == 201, body
        if n in answers:
            assert (status, body) == answers[n]
    assert count(stack, "pool_events") == 21
    assert api.get(f"/pools/{pid}")[1]["committed"] == "2000.00"
    assert stack.pulse("pools", "reconcile").returncode == 0
