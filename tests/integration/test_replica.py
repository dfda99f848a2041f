"""A read replica: a real streaming standby of the embedded PostgreSQL (pg_basebackup + standby),
named by PULSE_DATABASE_READ_URL. The read-only paths read it, lagging included; writes and reads of
one's own writes stay on the primary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest

from pipeline.devtools import oracle
from pipeline.devtools.generate import GeneratorSpec, generate
from pipeline.devtools.local_stack import (
    POSTGRES_FAST_SHUTDOWN,
    start_broker,
    start_postgres,
    start_replica,
    stop_process,
)
from pipeline.platform import db
from tests.conftest import database_url_for
from tests.harness import Stack, Worker, api_ready, issue_token, transaction, wait_until
from tests.integration.test_pools_api import POOL

pytestmark = pytest.mark.integration


class Replicated(Stack):
    read_url: str = ""


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[Replicated]:
    """A primary of its own (the session's holds every test's database), a database migrated on it,
    a standby streaming from it, and a broker."""
    primary, primary_pid = start_postgres(tmp_path / "primary")
    with db.connect(primary, autocommit=True) as conn:
        conn.execute("CREATE DATABASE pulse")
    url = database_url_for(primary, "pulse")
    db.upgrade(url)
    replica, replica_pid = start_replica(primary, tmp_path / "replica")
    broker_pid, port = start_broker(tmp_path / "broker.log")
    stack = Replicated(kafka_url=f"kafka://127.0.0.1:{port}", database_url=url, data_dir=tmp_path)
    stack.read_url = database_url_for(replica, "pulse")
    yield stack
    stop_process(broker_pid)
    stop_process(replica_pid, POSTGRES_FAST_SHUTDOWN)
    stop_process(primary_pid, POSTGRES_FAST_SHUTDOWN)


def caught_up(stack: Replicated) -> bool:
    with db.connect(stack.database_url) as primary:
        row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    with db.connect(stack.read_url) as replica:
        replayed = replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0] if row else None,)
        ).fetchone()
    return bool(replayed and replayed[0])


def replay(stack: Replicated, paused: bool) -> None:
    with db.connect(stack.read_url, autocommit=True) as replica:
        replica.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")


def stored(url: str) -> int:
    with db.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM transactions").fetchone()
    return row[0] if row else 0


def test_reads_follow_the_replica_and_writes_the_primary(replicated: Replicated, workers: list):
    stack = replicated
    read_env = {"PULSE_DATABASE_READ_URL": stack.read_url}
    with (
        db.connect(stack.read_url) as replica,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        replica.execute("INSERT INTO investor_totals VALUES ('x', 1, 1, 1, now())")
    worker = Worker(stack, **read_env).start()
    workers.append(worker)
    api = api_ready(worker, issue_token(stack, "admin", "admin"))
    start = datetime(2026, 3, 1, tzinfo=UTC)
    first = list(generate(GeneratorSpec(40, 12, 600, 5, start, 5.0)))
    stack.produce(orjson.dumps(r) for r in first)
    wait_until(lambda: stored(stack.database_url) == len(first), 60, "the first batch stored")
    wait_until(lambda: caught_up(stack), 20, "the replica to catch up")
    top = json.loads(stack.pulse("top-investors", "--json", **read_env).stdout)
    assert top == oracle.top(first)

    # The replica stops replaying: it lags. The worker goes on writing to the primary.
    replay(stack, paused=True)
    big = transaction("tx-big", "syn-replica", datetime(2026, 3, 2, tzinfo=UTC), "99999999.99")
    more = [*generate(GeneratorSpec(40, 12, 300, 6, start, 5.0)), big]
    second = [{**r, "transaction_id": f"late-{r['transaction_id']}"} for r in more]
    stack.produce(orjson.dumps(r) for r in second)
    total = len(first) + len(second)
    wait_until(lambda: stored(stack.database_url) == total, 60, "the second batch stored")
    status, pool = api.post("/pools", {**POOL, "name": "While lagging"}, "lagging-pool")
    assert status == 201, pool  # writes go to the primary, replica or not
    status, commitment = api.post(
        f"/pools/{pool['id']}/commitments",
        {"investor_id": "inv-lag", "amount": "500.00"},
        "lagging-commitment",
    )
    assert status == 201, commitment

    # Read-only paths read the lagging replica: the state before the second batch.
    assert json.loads(stack.pulse("top-investors", "--json", **read_env).stdout) == top
    status, listed = api.get("/alerts?syndicate_id=syn-replica")
    assert (status, listed) == (200, [])
    status, positions = api.get("/investors/inv-lag/positions")
    assert (status, positions) == (200, [])
    alerts = json.loads(stack.pulse("alerts", "list", "--json", **read_env).stdout)
    assert not any(a["syndicate_id"] == "syn-replica" for a in alerts)
    # What must see its own writes reads the primary: the pool, an alert by id, verify.
    status, read_back = api.get(f"/pools/{pool['id']}")
    assert (status, read_back["committed"]) == (200, "500.00")
    alerts = json.loads(stack.pulse("alerts", "list", "--json").stdout)
    large = [a for a in alerts if a["syndicate_id"] == "syn-replica"]
    assert [a["kind"] for a in large] == ["large_transaction"]
    status, one = api.get(f"/alerts/{large[0]['alert_id']}")
    assert (status, one["transaction_id"]) == (200, "late-tx-big")
    assert json.loads(stack.pulse("top-investors", "--json").stdout) == oracle.top(first + second)
    assert stack.pulse("verify", "--what", "aggregates", **read_env).returncode == 0

    # Replay resumes: the replica catches up and the read paths with it.
    replay(stack, paused=False)
    wait_until(lambda: caught_up(stack), 20, "the replica to catch up again")
    top = json.loads(stack.pulse("top-investors", "--json", **read_env).stdout)
    assert top == oracle.top(first + second)
    status, listed = api.get("/alerts?syndicate_id=syn-replica")
    assert [a["alert_id"] for a in listed] == [large[0]["alert_id"]]
    status, positions = api.get("/investors/inv-lag/positions")
    assert [p["committed"] for p in positions] == ["500.00"]
