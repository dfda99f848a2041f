"""The recovery path that matters most: the database restored from an older dump, the workers
replaying the topics from the dump's offsets (`pulse db rewind`), ends with exactly the state of
the original: top-5, totals, alerts, pools; `pulse verify` agrees, and so does the oracle."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.devtools import oracle
from pipeline.devtools.local_stack import pg_tool
from pipeline.platform import db
from tests.conftest import database_url_for
from tests.harness import Stack, Worker, api_ready, issue_token, wait_until
from tests.integration.test_anomalies import T0, planted_stream
from tests.integration.test_pools_api import POOL

pytestmark = pytest.mark.integration

# Each state, without the moments it was written at (a replay writes them anew).
STATE = {
    "totals": "SELECT investor_id, syndicate_count, total_invested, transaction_count"
    " FROM investor_totals ORDER BY investor_id",
    "alerts": "SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio,"
    " event_time, details FROM alerts ORDER BY alert_id",
    "pools": "SELECT pool_id, status, seq, committed, called, contributed, distributed FROM pools",
    "positions": "SELECT * FROM pool_positions ORDER BY pool_id, investor_id",
    "ledger": "SELECT * FROM ledger_entries ORDER BY pool_id, seq, line",
    "events": "SELECT pool_id, seq, event_id, type, payload FROM pool_events ORDER BY pool_id, seq",
    "transactions": "SELECT count(*) FROM transactions",
}


def state(url: str) -> dict[str, Any]:
    with db.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in STATE.items()}


def pool_commands(api: Any, pool_id: str, prefix: str, investors: list[str]) -> None:
    for investor in investors:
        status, body = api.post(
            f"/pools/{pool_id}/commitments",
            {"investor_id": investor, "amount": "2500.25"},
            f"{prefix}-{investor}",
        )
        assert status == 201, body


def test_restored_from_an_older_dump_and_replayed_ends_exactly_as_the_original(
    stack: Stack, workers: list[Worker]
):
    stream = planted_stream()
    cut = (T0 + timedelta(minutes=90)).isoformat()
    first = [r for r in stream if r["transaction_date"] < cut]
    second = [r for r in stream if r["transaction_date"] >= cut]
    expected_alerts = oracle.expected_alerts_fast(stream)
    assert any(kind == "spike" for kind, _, _ in expected_alerts)
    worker = Worker(stack, "original").start()
    workers.append(worker)
    api = api_ready(worker, issue_token(stack, "admin", "admin"))
    status, pool = api.post("/pools", {**POOL, "name": "Restored"}, "restore-create")
    assert status == 201, pool
    pool_commands(api, pool["id"], "before", ["inv-a", "inv-b"])
    stack.produce(orjson.dumps(r) for r in first)
    wait_until(lambda: state(stack.database_url)["transactions"] == [(len(first),)], 90, "first")

    # The nightly backup, taken while the worker runs. The embedded server's programs run as its
    # own user (root may not run them): a folder it can write, outside the test's private one.
    dump = Path(tempfile.mkdtemp(prefix="pulse-backup-"))
    dump.chmod(0o777)
    pg_tool(
        "pg_dump", "-Fc", "-f", str(dump / "pulse.dump"), "-d", db.libpq_url(stack.database_url)
    )

    pool_commands(api, pool["id"], "after", ["inv-c", "inv-d"])
    status, call = api.post(
        f"/pools/{pool['id']}/capital-calls", {"percent": "40", "due_date": "2026-04-01"}, "call"
    )
    assert status == 201, call
    stack.produce(orjson.dumps(r) for r in second)
    wait_until(lambda: state(stack.database_url)["transactions"] == [(len(stream),)], 90, "all")
    original = state(stack.database_url)
    assert {(a[1], a[2], a[3]) for a in original["alerts"]} == expected_alerts
    worker.stop()

    # The database is lost; the dump comes back, older than what the topics hold.
    server = database_url_for(stack.database_url, "postgres")
    name = stack.database_url.partition("?")[0].rsplit("/", 1)[1]
    with db.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_tool("pg_restore", "-d", db.libpq_url(stack.database_url), str(dump / "pulse.dump"))
    shutil.rmtree(dump)
    restored = state(stack.database_url)
    assert restored["transactions"] == [(len(first),)]
    assert restored != original

    rewound = stack.pulse("db", "rewind")
    assert "transactions:" in rewound.stdout, rewound.stdout
    workers.append(Worker(stack, "after-restore").start())
    wait_until(lambda: state(stack.database_url) == original, 120, "the original state again")
    verified = stack.pulse("verify", "--json", check=False)
    assert json.loads(verified.stdout)["differences"] == [], verified.stdout
    assert json.loads(stack.pulse("top-investors", "--json").stdout) == oracle.top(stream)
