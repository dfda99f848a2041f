"""History partitioned by month, from the outside: the sink writes into it, `pulse db partitions`
makes, lists and detaches months, `pulse verify` and `pulse rebuild` keep the aggregates honest.
Real PostgreSQL; the sink is driven directly (no broker needed to write history)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

import sql
from models.batch import SourceMessage, triage
from pipeline.ingest.sink import SinkResult, TransactionSink
from pipeline.ingest.top_investors import top_investors
from pipeline.platform import db
from tests.harness import Stack

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
# Months of history, the oldest first: three before this one, this one, and one far back (1999,
# before any partition is made: the default partition takes it).
MONTHS = [datetime(1999, 6, 15, tzinfo=UTC)] + [
    (NOW.replace(day=15, hour=12) - timedelta(days=31 * k)) for k in (3, 2, 1, 0)
]


def record(n: int, when: datetime, **changes: object) -> dict:
    doc = {
        "transaction_id": f"tx|{n}",  # a separator in the id, as hostile producers send
        "investor_id": f"inv-{n % 7}",
        "syndicate_id": f"syn,{n % 5}",
        "transaction_amount": f"{(n % 13) * 100 + 0.37:.2f}",
        "transaction_date": (when + timedelta(minutes=n)).isoformat(),
        "currency": "USD",
    }
    return {**doc, **changes}


def write(url: str, records: list[dict], first_offset: int) -> SinkResult:
    messages = [
        SourceMessage(
            "transactions", 0, first_offset + i, r["syndicate_id"].encode(), orjson.dumps(r)
        )
        for i, r in enumerate(records)
    ]
    batch = triage(messages, datetime.now(UTC), timedelta(minutes=5))

    async def go() -> SinkResult:
        sink = TransactionSink(url)
        try:
            return await sink.write(batch.accepted, batch.dead)
        finally:
            await sink.close()

    return asyncio.run(go())


def query(url: str, statement: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute(statement).fetchall()


def seed_top5(url: str) -> list[tuple]:
    return [(r[0], r[1], r[2]) for r in query(url, sql.load("ingest/seed_top_investors"))]


def top5(url: str) -> list[tuple]:
    found = top_investors(url, 5)
    return [(r.investor_id, r.syndicate_count, r.total_invested) for r in found]


def test_history_spans_months_idempotently_and_detached_months_still_count(stack: Stack):
    url = stack.database_url
    assert query(url, "SELECT relkind FROM pg_class WHERE relname = 'transactions'") == [("p",)]
    records = [record(m * 40 + i, when) for m, when in enumerate(MONTHS) for i in range(40)]
    assert len(write(url, records, 0).inserted) == len(records)

    where = dict(query(url, "SELECT transaction_id, tableoid::regclass::text FROM transactions"))
    assert where["tx|0"] == "transactions_default"
    this_month = f"transactions_y{NOW:%Y}m{NOW:%m}"
    assert where[f"tx|{4 * 40}"] == this_month

    # Redelivered: nothing moves. The same id with other content, dated in another month: refused.
    before = query(url, "SELECT * FROM investor_totals ORDER BY investor_id")
    again = write(url, records[:80], 0)
    assert (again.inserted, again.duplicates, again.dead) == ([], 80, [])
    other_month = record(45, MONTHS[4])  # tx|45 was stored in the second month
    conflicting = write(url, [other_month], 1000)
    assert [d.reason for d in conflicting.dead] == ["conflicting_duplicate"]
    assert query(url, "SELECT * FROM investor_totals ORDER BY investor_id") == before
    assert query(url, "SELECT count(*) FROM transactions")[0][0] == len(records)

    # The seed's query, verbatim, agrees with the top-5 on the partitioned table.
    assert seed_top5(url) == top5(url)

    # The three past months wait in the default partition until a backfill makes their partitions.
    assert where[f"tx|{1 * 40}"] == "transactions_default"
    first = f"{MONTHS[1]:%Y-%m}"
    made = stack.pulse("db", "partitions", "ensure", "--from", first, "--months-ahead", "6")
    ahead = NOW.replace(day=1) + timedelta(days=32 * 6)
    listed = json.loads(stack.pulse("db", "partitions", "list", "--json").stdout)
    names = {p["partition"]: p for p in listed}
    assert f"transactions_y{ahead:%Y}m{ahead:%m}" in names, made.stderr
    assert names["transactions_default"]["row_count"] == 40
    assert sum(p["row_count"] for p in listed) == len(records)

    # Detach the two oldest months that have partitions: rows leave, the aggregates do not.
    top_before = top5(url)
    cut = MONTHS[3].replace(day=1)
    detached = stack.pulse("db", "partitions", "detach", "--before", f"{cut:%Y-%m}")
    assert "detached 2 partition(s)" in detached.stderr
    assert query(url, "SELECT count(*) FROM transactions")[0][0] == len(records) - 80
    assert top5(url) == top_before
    assert stack.pulse("verify", "--what", "aggregates").returncode == 0
    archived = json.loads(stack.pulse("db", "partitions", "list", "--json").stdout)
    assert sum(1 for p in archived if p["archived"]) == 2
    # A detached month's ids still stand: a redelivery is a no-op, other content still refused.
    assert write(url, records[40:80], 40).duplicates == 40
    assert [d.reason for d in write(url, [other_month], 1001).dead] == ["conflicting_duplicate"]
    # A new month's row for a detached month lands in the default partition, and counts.
    late = record(9999, MONTHS[1])
    assert write(url, [late], 2000).inserted == ["tx|9999"]
    assert stack.pulse("verify", "--what", "aggregates").returncode == 0


def test_verify_names_a_tampered_aggregate_and_rebuild_repairs_it(stack: Stack):
    url = stack.database_url
    write(url, [record(i, MONTHS[4]) for i in range(60)], 0)
    clean = stack.pulse("verify", "--what", "aggregates")
    assert "clean" in clean.stdout
    with db.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE investor_totals SET total_invested = total_invested + 0.01 WHERE investor_id = 'inv-3'"
        )
        conn.execute("DELETE FROM investor_syndicate_totals WHERE investor_id = 'inv-4'")
        conn.execute("INSERT INTO investor_totals VALUES ('inv-ghost', 9, 1.00, 1, now())")
    found = stack.pulse("verify", "--what", "aggregates", check=False)
    assert found.returncode == 1
    assert "investor inv-3" in found.stdout
    assert "inv-ghost" in found.stdout
    doc = json.loads(stack.pulse("verify", "--json", "--what", "aggregates", check=False).stdout)
    assert doc["ok"] is False
    subjects = {d["subject"] for d in doc["differences"]}
    assert {"investor inv-3", "investor inv-ghost"} <= subjects
    assert any(s.startswith("investor inv-4 in syndicate") for s in subjects)
    assert top5(url)[0][0] == "inv-ghost"

    stack.pulse("rebuild", "--what", "aggregates")
    assert stack.pulse("verify", "--what", "aggregates").returncode == 0
    assert seed_top5(url) == top5(url)
    total = query(url, "SELECT sum(total_invested) FROM investor_totals")[0][0]
    assert total == sum(Decimal(record(i, MONTHS[4])["transaction_amount"]) for i in range(60))
