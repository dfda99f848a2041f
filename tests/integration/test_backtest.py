"""The backtest from the outside: on history a real worker detected (planted spikes, large
transactions, late arrivals), `pulse backtest` without overrides gives exactly the live alerts of
the range, ids included; with overrides it gives what the independent oracle says; it writes
nothing; and the console's route answers the same for a manager's own syndicate only."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import orjson
import pytest

from pipeline.devtools import oracle
from pipeline.platform import db
from tests.harness import Stack, Worker, api_ready, issue_token, wait_until
from tests.integration.test_anomalies import T0, planted_stream

pytestmark = pytest.mark.integration


def with_late_arrivals(stream: list[dict]) -> list[dict]:
    """Some events arrive minutes after their time: late ones are stored but not counted."""
    out = list(stream)
    for i in range(50, len(out) - 400, 211):
        out.insert(i + 300, out.pop(i))
    return out


def live_ids(url: str, start: str, end: str, syndicate: str | None = None) -> set[str]:
    with db.connect(url) as conn:
        rows = conn.execute(
            "SELECT alert_id::text FROM alerts WHERE event_time >= %s AND event_time < %s"
            " AND (%s::text IS NULL OR syndicate_id = %s)",
            (start, end, syndicate, syndicate),
        ).fetchall()
    return {r[0] for r in rows}


def table_counts(url: str) -> tuple[int, int, int]:
    with db.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM transactions),"
            " (SELECT count(*) FROM audit_log)"
        ).fetchone()
    assert row is not None
    return row


def test_the_backtest_reproduces_live_detection_and_follows_the_oracle_with_overrides(
    stack: Stack, workers: list[Worker]
) -> None:
    stream = with_late_arrivals(planted_stream(seed=11))
    stack.produce(orjson.dumps(r) for r in stream)
    worker = Worker(stack).start()
    workers.append(worker)
    expected = oracle.expected_alerts(stream)
    wait_until(
        lambda: (
            len(live_ids(stack.database_url, "2000-01-01T00:00Z", "2100-01-01T00:00Z"))
            == len(expected)
        ),
        120,
        "live detection of the planted stream",
    )
    late = json.loads(stack.pulse("alerts", "list", "--json").stdout)
    assert {a["kind"] for a in late} == {"spike", "large_transaction"}

    # Without overrides: exactly the live alerts, for the whole history and for a range that starts
    # inside a planted burst (its windows reach back before --from).
    for start, end in (
        (T0 - timedelta(days=1), T0 + timedelta(days=1)),
        (T0 + timedelta(hours=2, minutes=2), T0 + timedelta(hours=2, minutes=40)),
    ):
        s, e = start.isoformat(), end.isoformat()
        result = stack.pulse("backtest", "--from", s, "--to", e, "--json")
        found = json.loads(result.stdout)
        assert {a["alert_id"] for a in found} == live_ids(stack.database_url, s, e)
        assert found == sorted(found, key=lambda a: (a["event_time"], a["alert_id"]))
        listed = json.loads(stack.pulse("alerts", "list", "--json").stdout)
        assert set(found[0]) == set(listed[0]), "the same fields as pulse alerts list --json"
        summary = json.loads(
            stack.pulse("backtest", "--from", s, "--to", e, "--summary", "--json").stdout
        )
        assert summary
        assert all(d["added"] == d["removed"] == 0 for d in summary)
        assert all(d["live"] == d["candidate"] for d in summary)
        assert "Backtest against live detection" in result.stderr

    # Candidate settings for one syndicate: what the oracle computes with them, and the summary
    # says what changes against live detection.
    before = table_counts(stack.database_url)
    s, e = (T0 - timedelta(days=1)).isoformat(), (T0 + timedelta(days=1)).isoformat()
    overridden = ["backtest", "--from", s, "--to", e, "--syndicate", "syn-03"]
    overridden += ["--threshold", "8000.00", "--spike-multiplier", "4", "--spike-min-count", "3"]
    candidate = json.loads(stack.pulse(*overridden, "--json").stdout)
    mine = [r for r in stream if r["syndicate_id"] == "syn-03"]
    wanted = oracle.expected_alerts(mine, Decimal("8000.00"), Decimal(4), 3)
    assert {(a["kind"], a["syndicate_id"], a["transaction_id"]) for a in candidate} == wanted
    assert wanted != oracle.expected_alerts(mine)
    summary = json.loads(stack.pulse(*overridden, "--summary", "--json").stdout)
    live_syn03 = live_ids(stack.database_url, s, e, "syn-03")
    assert sum(d["live"] for d in summary) == len(live_syn03)
    assert sum(d["candidate"] for d in summary) == len(candidate)
    assert sum(d["added"] for d in summary) == len({a["alert_id"] for a in candidate} - live_syn03)
    assert table_counts(stack.database_url) == before, "a backtest writes nothing"

    # Refused with a clear message.
    for bad in (
        ["--from", e, "--to", s],
        ["--from", s, "--to", e, "--threshold", "1.005"],
        ["--from", s, "--to", e, "--spike-multiplier", "-2"],
        ["--from", s, "--to", e, "--syndicate", "s" * 200],
        ["--from", "yesterday", "--to", e],
    ):
        refused = stack.pulse("backtest", *bad, check=False)
        assert refused.returncode != 0
        assert "Traceback" not in refused.stderr

    # An id with separators and markup is just an id: no history, no alerts, no trouble.
    odd = stack.pulse(
        "backtest", "--from", s, "--to", e, "--syndicate", "syn|a/b:[/x]\u2028", "--json"
    )
    assert json.loads(odd.stdout) == []

    # The console's route: a manager's own syndicate, the same alerts; another's is 404.
    manager = stack.pulse(
        "managers", "add", "--name", "Ann", "--email", "ann@fund.example", "--channels", "email"
    ).stdout.strip()
    stack.pulse("managers", "assign", manager, "syn-03")
    api = api_ready(worker, issue_token(stack, "ann", "fund_manager", manager_id=manager))
    query = f"from={quote(s)}&to={quote(e)}&threshold=8000.00&spike_multiplier=4&spike_min_count=3"
    status, body = api.get(f"/syndicates/syn-03/backtest?{query}")
    assert status == 200
    assert {a["alert_id"] for a in body["alerts"]} == {a["alert_id"] for a in candidate}
    assert body["summary"] == summary
    assert api.get(f"/syndicates/syn-07/backtest?{query}")[0] == 404
    assert api.get(f"/syndicates/syn-03/backtest?from={quote(s)}")[0] == 400

    # A manager's verdict is a label: resolve a live spike of syn-03 as a false positive, and a
    # stricter evidence level is scored by whether it would still raise it.
    spike = next(a for a in late if a["kind"] == "spike" and a["syndicate_id"] == "syn-03")
    stack.pulse("alerts", "resolve", spike["alert_id"], "--note", " False positive ")
    strict = ["backtest", "--from", s, "--to", e, "--syndicate", "syn-03", "--spike-evidence"]
    quiet = stack.pulse(*strict, "1e15", "--json")
    wanted = oracle.expected_alerts(mine, evidence=Decimal(10) ** 15)
    raised = {(a["kind"], a["syndicate_id"], a["transaction_id"]) for a in json.loads(quiet.stdout)}
    assert raised == wanted
    assert "Of 1 alerts resolved as false positives" in quiet.stderr
    status, body = api.get(f"/syndicates/syn-03/backtest?from={quote(s)}&to={quote(e)}")
    assert status == 200
    assert body["labels"]["false_positives"] == 1
    assert body["labels"]["false_positives_still_raised"] == 1  # the live settings raise it
    refused = stack.pulse(*strict, "1", check=False)
    assert refused.returncode != 0
    assert "spike-evidence" in refused.stderr
    assert api.get(f"/syndicates/syn-03/backtest?from={quote(e)}&to={quote(s)}")[0] == 400
    window = f"from={quote(s)}&to={quote(e)}"
    for bad in ("spike_min_count=0", "spike_multiplier=abc", "threshold=1.001", "threshold=-5"):
        assert api.get(f"/syndicates/syn-03/backtest?{window}&{bad}")[0] == 400, bad
    admin = api.as_(issue_token(stack, "root", "admin"))
    assert admin.get(f"/syndicates/syn-07/backtest?from={quote(s)}&to={quote(e)}")[0] == 200
    assert (
        api.as_(issue_token(stack, "ivy", "investor", investor_id="i")).get(
            f"/syndicates/syn-03/backtest?{query}"
        )[0]
        == 403
    )
