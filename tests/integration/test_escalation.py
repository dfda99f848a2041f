"""Escalation from the outside: an alert nobody acknowledges reaches level 2 after its deadline,
not before, exactly once, even with the worker SIGKILLed in between; an acknowledged one never."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.platform import db
from tests.harness import Stack, Worker, transaction, wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AFTER = 4


def notified(url: str, manager_id: str) -> list[dict]:
    with db.connect(url) as conn:
        rows = conn.execute(
            "SELECT alert_id::text, channel, level, created_at, alert FROM notifications"
            " WHERE manager_id = %s ORDER BY created_at, channel",
            (manager_id,),
        ).fetchall()
    return [
        {"alert_id": r[0], "channel": r[1], "level": r[2], "created_at": r[3], "alert": r[4]}
        for r in rows
    ]


def alert_row(url: str, transaction_id: str) -> dict | None:
    with db.connect(url) as conn:
        row = conn.execute(
            "SELECT alert_id::text, detected_at, escalation_level, escalate_at, status"
            " FROM alerts WHERE transaction_id = %s",
            (transaction_id,),
        ).fetchone()
    if row is None:
        return None
    keys = ("alert_id", "detected_at", "escalation_level", "escalate_at", "status")
    return dict(zip(keys, row, strict=True))


def add_manager(stack: Stack, name: str) -> str:
    return stack.pulse(
        "managers", "add", "--name", name, "--email", f"{name}@fund.example", "--channels", "email"
    ).stdout.strip()


def test_an_open_alert_escalates_once_after_its_deadline_and_an_acknowledged_one_never(
    stack: Stack, workers: list[Worker]
) -> None:
    first, second = add_manager(stack, "lee"), add_manager(stack, "max")
    for syndicate in ("syn-e", "syn-f"):
        stack.pulse("managers", "assign", first, syndicate)
        stack.pulse("managers", "assign", second, syndicate, "--level", "2")
        stack.pulse("syndicates", "set", syndicate, "--escalate-after", str(AFTER))
    levels = {
        m["id"]: m["levels"] for m in json.loads(stack.pulse("managers", "list", "--json").stdout)
    }
    assert levels == {first: {"syn-e": 1, "syn-f": 1}, second: {"syn-e": 2, "syn-f": 2}}

    worker = Worker(stack).start()
    workers.append(worker)
    stack.produce(
        orjson.dumps(transaction(tid, syndicate, T0, "50000.00"))
        for tid, syndicate in (("e-1", "syn-e"), ("f-1", "syn-f"))
    )
    wait_until(
        lambda: len({n["alert_id"] for n in notified(stack.database_url, first)}) == 2,
        60,
        "both alerts routed to level 1",
    )
    ignored, handled = alert_row(stack.database_url, "e-1"), alert_row(stack.database_url, "f-1")
    assert ignored is not None
    assert handled is not None
    stack.pulse("alerts", "ack", handled["alert_id"])
    assert ignored["escalate_at"] == ignored["detected_at"] + timedelta(seconds=AFTER)
    assert ignored["escalation_level"] == 1
    # Before the deadline, level 2 has heard nothing.
    assert datetime.now(UTC) < ignored["escalate_at"]
    assert notified(stack.database_url, second) == []

    # The worker dies before the deadline; its replacement escalates on time from the stored one.
    worker.kill()
    replacement = Worker(stack, "replacement").start()
    workers.append(replacement)
    escalated = wait_until(
        lambda: notified(stack.database_url, second) or None, 90, "the escalation to level 2"
    )
    assert {n["alert_id"] for n in escalated} == {ignored["alert_id"]}
    assert sorted(n["channel"] for n in escalated) == ["email", "log"]
    assert {n["level"] for n in escalated} == {2}
    assert all(n["created_at"] >= ignored["escalate_at"] for n in escalated)
    assert escalated[0]["alert"]["escalation"]["level"] == 2
    now = alert_row(stack.database_url, "e-1")
    assert now is not None
    assert now["escalation_level"] == 2
    assert now["escalate_at"] is None  # no level 3: nothing more to do

    # Never twice, and never for the acknowledged alert.
    time.sleep(AFTER + 2)
    assert len(notified(stack.database_url, second)) == 2
    still = alert_row(stack.database_url, "f-1")
    assert still is not None
    assert still["status"] == "acknowledged"
    assert still["escalation_level"] == 1
    assert still["escalate_at"] is None
    assert len(notified(stack.database_url, first)) == 4  # email + log for each alert, once
