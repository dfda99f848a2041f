"""The alert life cycle from the outside: the CLI and the HTTP API, as managers, admins and
strangers use them, on alerts a real worker raised."""

from __future__ import annotations

import getpass
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import orjson
import pytest

from pipeline.platform import db
from tests.harness import Stack, Worker, api_ready, issue_token, transaction, wait_until

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def listed(stack: Stack, *args: str) -> list[dict]:
    return json.loads(stack.pulse("alerts", "list", "--json", *args).stdout)


def audited_actions(url: str) -> list[tuple[str, str]]:
    with db.connect(url) as conn:
        return [
            (r[0], r[1])
            for r in conn.execute("SELECT action, target FROM audit_log ORDER BY seq").fetchall()
        ]


def test_alerts_are_acknowledged_and_resolved_by_cli_and_http(
    stack: Stack, workers: list[Worker]
) -> None:
    mine = stack.pulse(
        "managers", "add", "--name", "Ada", "--email", "ada@fund.example", "--channels", "email"
    ).stdout.strip()
    theirs = stack.pulse(
        "managers", "add", "--name", "Bo", "--email", "bo@fund.example", "--channels", "email"
    ).stdout.strip()
    stack.pulse("managers", "assign", mine, "syn-a")
    stack.pulse("managers", "assign", theirs, "syn-b")
    worker = Worker(stack).start()
    workers.append(worker)
    stack.produce(
        orjson.dumps(transaction(tid, syndicate, T0 + timedelta(minutes=i), "25000.00"))
        for i, (tid, syndicate) in enumerate([("a-1", "syn-a"), ("a-2", "syn-a"), ("b-1", "syn-b")])
    )
    wait_until(lambda: len(listed(stack)) == 3, 60, "three large-transaction alerts")
    alerts = {a["transaction_id"]: a for a in listed(stack, "--status", "open")}
    assert {a["status"] for a in alerts.values()} == {"open"}
    assert {a["escalation_level"] for a in alerts.values()} == {1}
    assert all(a["acknowledged_by"] is None and a["resolved_at"] is None for a in alerts.values())
    a1, a2, b1 = (alerts[t]["alert_id"] for t in ("a-1", "a-2", "b-1"))

    # The CLI: acknowledge, again (nothing changes, and it says so), unknown ids refused.
    first = stack.pulse("alerts", "ack", a1, "--note", "looking into it")
    assert "acknowledged" in first.stderr
    again = stack.pulse("alerts", "ack", a1)
    assert again.returncode == 0
    assert "already acknowledged" in again.stderr
    (acked,) = listed(stack, "--status", "acknowledged")
    assert acked["alert_id"] == a1
    assert acked["acknowledged_by"] == f"cli:{getpass.getuser()}"
    assert acked["acknowledged_at"] is not None
    for unknown in (str(uuid.uuid4()), "not-an-id", "35f470c8"):
        refused = stack.pulse("alerts", "ack", unknown, check=False)
        assert refused.returncode == 1
        assert "no alert" in refused.stderr
    assert stack.pulse("alerts", "list", "--status", "closed", check=False).returncode != 0
    assert ("alerts ack", a1) in audited_actions(stack.database_url)

    # HTTP: a manager sees and handles the alerts of their own syndicates, nothing else.
    manager = api_ready(worker, issue_token(stack, "ada", "fund_manager", manager_id=mine))
    status, seen = manager.get("/alerts")
    assert status == 200
    assert sorted(a["alert_id"] for a in seen) == sorted([a1, a2])
    assert manager.get(f"/alerts/{b1}")[0] == 404
    assert manager.call("POST", f"/alerts/{b1}/ack", {})[0] == 404
    assert manager.get(f"/alerts/{uuid.uuid4()}")[0] == 404
    assert manager.get("/alerts/not-a-uuid")[0] == 404
    assert manager.get("/alerts?syndicate_id=syn-b")[1] == []

    status, resolved = manager.call("POST", f"/alerts/{a2}/resolve", {"note": "a known wire"})
    assert status == 200, resolved
    assert resolved["status"] == "resolved"
    assert resolved["changed"] is True
    assert resolved["resolved_by"] == mine
    assert resolved["acknowledged_by"] is None
    status, twice = manager.call("POST", f"/alerts/{a2}/resolve", None)
    assert status == 200
    assert twice["changed"] is False
    assert "already resolved" in twice["message"]
    # Going back is not a transition: a resolved alert stays resolved.
    status, back = manager.call("POST", f"/alerts/{a2}/ack", {})
    assert status == 200
    assert back["changed"] is False
    assert back["status"] == "resolved"

    status, one = manager.get(f"/alerts/{a2}")
    assert status == 200
    assert [
        (t["from_status"], t["to_status"], t["actor"], t["via"], t["note"])
        for t in one["transitions"]
    ] == [("open", "resolved", mine, "http", "a known wire")]
    assert [a["alert_id"] for a in manager.get("/alerts?status=resolved")[1]] == [a2]
    assert [a["alert_id"] for a in manager.get("/alerts?status=acknowledged")[1]] == [a1]
    since = quote((T0 + timedelta(seconds=30)).isoformat())
    assert [a["alert_id"] for a in manager.get(f"/alerts?since={since}")[1]] == [a2]

    # Bad requests: a clear 4xx, nothing changed.
    assert manager.get("/alerts?status=closed")[0] == 400
    assert manager.get("/alerts?since=yesterday")[0] == 400
    assert manager.get("/alerts?syndicate_id=a%00b")[0] == 400
    status, body = manager.call("POST", f"/alerts/{a1}/resolve", {"note": "nul \u0000 here"})
    assert status == 422
    assert "error" in body
    assert manager.call("POST", f"/alerts/{a1}/resolve", b"{not json")[0] == 422
    assert manager.call("POST", f"/alerts/{a1}/resolve", {"note": 7})[0] == 422
    assert manager.call("POST", f"/alerts/{a1}/resolve", {"other": "x"})[0] == 422
    assert manager.get(f"/alerts/{a1}")[1]["status"] == "acknowledged"

    # Admins see all; other roles may not use the routes at all; strangers must sign in.
    admin = manager.as_(issue_token(stack, "root", "admin"))
    assert len(admin.get("/alerts")[1]) == 3
    status, handled = admin.call("POST", f"/alerts/{b1}/ack", {"note": "covering for Bo"})
    assert status == 200
    assert handled["acknowledged_by"] == "root"
    investor = manager.as_(issue_token(stack, "ivy", "investor", investor_id="inv-1"))
    assert investor.get("/alerts")[0] == 403
    assert (
        manager.as_(issue_token(stack, "ops", "ops")).call("POST", f"/alerts/{b1}/resolve", {})[0]
        == 403
    )
    assert manager.as_(None).get("/alerts")[0] == 401
    assert ("POST", f"/alerts/{a2}/resolve") in audited_actions(stack.database_url)
