"""Top-5 latency from the incremental aggregates vs the seed's GROUP BY over all rows, same database."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg

import sql
from bench.common import bench_stack, load_rows, messages, record
from models.batch import SourceMessage, triage
from pipeline.ingest.history import ensure_partitions_sync
from pipeline.ingest.sink import TransactionSink
from pipeline.integrity import aggregates
from pipeline.platform import db


async def load(database_url: str, n: int, chunk: int = 100_000) -> None:
    sink = TransactionSink(database_url)
    for start in range(0, n, chunk):
        values = messages(
            min(chunk, n - start), seed=start + 1, investors=200_000, syndicates=5_000
        )
        for i in range(0, len(values), 5000):
            batch = [
                SourceMessage(
                    "transactions",
                    0,
                    start + i + j,
                    None,
                    v.replace(b'"tx-', f'"tx{start}-'.encode(), 1),
                )
                for j, v in enumerate(values[i : i + 5000])
            ]
            t = triage(batch, datetime.now(UTC), timedelta(minutes=5))
            await sink.write(t.accepted + t.misrouted, t.dead)
    await sink.close()


def fast_load(database_url: str, n: int) -> None:
    """The rows with SQL, then the aggregates the sink would have kept, from them in one pass."""
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        # A partition a month for the rows' months (a second apart: 10M span four), as a worker
        # or `pulse db partitions ensure --from 2026-01` makes them.
        ensure_partitions_sync(conn, months_ahead=0, first_month=date(2026, 1, 1))
    load_rows(database_url, n, investors=2_000_000, syndicates=50_000, spacing=1.0)
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(sql.load("devtools/bench_aggregates"))


def timed(conn: psycopg.Connection, query: str, params: dict | None, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(query, params).fetchall()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument(
        "--fast-load",
        action="store_true",
        help="load rows and aggregates with SQL instead of through the sink (for 10M and more)",
    )
    args = parser.parse_args(argv)
    with bench_stack() as stack:
        started = time.perf_counter()
        if args.fast_load:
            fast_load(stack.database_url, args.transactions)
        else:
            asyncio.run(load(stack.database_url, args.transactions))
        load_seconds = time.perf_counter() - started
        with psycopg.connect(db.libpq_url(stack.database_url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            ours = timed(conn, sql.load("ingest/top_investors"), {"limit": 5}, 500)
            seed = timed(conn, sql.load("ingest/seed_top_investors"), None, 3)
            a = conn.execute(sql.load("ingest/top_investors"), {"limit": 5}).fetchall()
            b = conn.execute(sql.load("ingest/seed_top_investors")).fetchall()
            # `pulse verify --what aggregates`: every pair and investor against the history.
            started = time.perf_counter()
            differences = aggregates.verify(conn)
            verify_seconds = time.perf_counter() - started
            partitions = conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'transactions'::regclass"
            ).fetchone()
    assert differences == [], differences[:5]
    assert [(r[1], r[2]) for r in a] == [(r[1], r[2]) for r in b], "the two queries disagree"
    p50 = statistics.median(ours)
    result = {
        "transactions": args.transactions,
        "loader": "sql" if args.fast_load else "sink",
        # Generating the data is included: this is set-up, not a measurement.
        "setup_seconds_generate_and_load": round(load_seconds, 1),
        "top5_ms_p50": round(p50, 3),
        "top5_ms_p99": round(statistics.quantiles(ours, n=100)[98], 3),
        "seed_group_by_ms_median": round(statistics.median(seed), 1),
        "speedup": round(statistics.median(seed) / p50),
        "verify_aggregates_seconds": round(verify_seconds, 1),
        "partitions_of_transactions": partitions[0] if partitions else None,
    }
    record("top5", result)
    return result


if __name__ == "__main__":
    main()
