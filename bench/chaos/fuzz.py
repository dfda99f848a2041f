"""Fuzzed and hostile messages mixed into a valid stream: each dead-lettered with its reason, totals exact."""

from __future__ import annotations

import asyncio
import random

import orjson
import psycopg

from bench.chaos.hostile import fuzzed_messages, hostile_internal, hostile_transactions
from bench.chaos.scenario import Outcome, chaos_stream, differences, produce_stream
from bench.common import bench_stack, stop_worker, wait_for_count
from pipeline.devtools import oracle
from pipeline.devtools.produce import produce
from pipeline.platform import db


def fuzz(count: int, syndicates: int, hours: float, seed: int = 3) -> Outcome:
    """Fuzzed messages on every topic a worker reads: malformed ones and valid-but-hostile ones
    (text PostgreSQL cannot store, dates far ahead and far back, the largest amounts, ids with
    separators and at the length limit). Bad ones are all dead-lettered with a reason, the worker
    stays up, and totals and alerts equal the oracle's."""
    stream = chaos_stream(syndicates, hours, seed)
    rng = random.Random(seed)
    entries: list[tuple[bytes, dict | None]] = [(orjson.dumps(r), r) for r in stream]
    malformed = fuzzed_messages(count // 2, seed)
    hostile = hostile_transactions(count - len(malformed), hours, seed)
    for message in malformed:
        entries.insert(rng.randint(0, len(entries)), (message, None))
    # Valid hostile records keep their order among themselves, so the oracle sees what the
    # worker sees for their syndicates.
    positions = sorted(rng.randint(0, len(entries)) for _ in hostile)
    for offset, (position, (value, record, _)) in enumerate(zip(positions, hostile, strict=True)):
        entries.insert(position + offset, (value, record))
    valid = [r for _, r in entries if r is not None]
    bad_transactions = len(entries) - len(valid)
    internal = hostile_internal(count // 5, seed)
    bad_internal = sum(len(v) for v in internal.values())
    with bench_stack() as stack:
        produce_stream(stack, [v for v, _ in entries])
        for topic, values in internal.items():
            asyncio.run(produce(stack.bootstrap, iter(values), 4, topic=topic))
        worker = stack.start_worker()
        wait_for_count(stack, len(oracle.first_wins(valid)), timeout=300)
        wait_for_count(stack, bad_transactions + bad_internal, timeout=120, table="dead_letters")
        found = differences(stack, valid)
        with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
            by_topic = dict(
                conn.execute("SELECT topic, count(*) FROM dead_letters GROUP BY topic").fetchall()
            )
            reasons = dict(
                conn.execute(
                    "SELECT reason, count(*) FROM dead_letters WHERE topic = 'transactions'"
                    " AND reason IN ('bad_text', 'future_date', 'past_date') GROUP BY reason"
                ).fetchall()
            )
            unexplained = conn.execute(
                "SELECT count(*) FROM dead_letters WHERE reason = '' OR detail = ''"
            ).fetchone()[0]
        want = {"transactions": bad_transactions, **{t: len(v) for t, v in internal.items()}}
        if by_topic != want:
            found.append(f"dead letters by topic {by_topic}, expected {want}")
        for reason in ("bad_text", "future_date", "past_date"):
            expected = sum(1 for _, r, why in hostile if r is None and why == reason)
            if reasons.get(reason, 0) != expected:
                found.append(f"{reasons.get(reason, 0)} {reason} dead letters, {expected} expected")
        if unexplained:
            found.append(f"{unexplained} dead letters without a reason")
        if worker.poll() is not None:
            found.append("the worker died")
        stop_worker(worker)
    return Outcome(
        f"{count:,} fuzzed transactions (half valid-but-hostile), {bad_internal:,} on internal topics",
        1,
        count + bad_internal,
        len(found),
        "; ".join(found[:3]),
    )
