"""Alert latency: produce → alert row in PostgreSQL, at a sustained transaction rate.

One transaction in 50 is above the threshold; its send time (wall clock) is compared with its
alert's ``detected_at`` (PostgreSQL's clock_timestamp on the same machine).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from aiokafka import AIOKafkaProducer

from bench.common import bench_stack, record, stop_worker, wait_for_count
from pipeline.platform import db
from pipeline.platform.topics import ensure_topics


async def produce_at_rate(
    bootstrap: str, rate: int, seconds: float, prefix: str = "lat"
) -> dict[str, float]:
    await ensure_topics(bootstrap, 4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    await producer.start()
    sent_at: dict[str, float] = {}
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    start = time.monotonic()
    n = 0
    base = datetime(2026, 3, 1, tzinfo=UTC)
    try:
        while time.monotonic() - start < seconds:
            for _ in range(per_tick):
                large = n % 50 == 0
                tid = f"{prefix}-{n}"
                value = orjson.dumps(
                    {
                        "transaction_id": tid,
                        "investor_id": f"inv-{n % 997}",
                        "syndicate_id": f"syn-{n % 200}",
                        "transaction_amount": "25000.00" if large else "120.00",
                        "transaction_date": (base + timedelta(milliseconds=n)).isoformat(),
                    }
                )
                await producer.send("transactions", value, key=f"syn-{n % 200}".encode())
                if large:
                    sent_at[tid] = time.time()
                n += 1
            next_tick = start + (n / per_tick) * tick
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        await producer.flush()
    finally:
        await producer.stop()
    sent_at["__total__"] = n
    sent_at["__seconds__"] = time.monotonic() - start
    return sent_at


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with bench_stack() as stack:
        stack.start_worker()
        try:
            # Warm up: the worker has joined and written once before the clock starts.
            asyncio.run(produce_at_rate(stack.bootstrap, 100, 1.0, prefix="warm"))
            wait_for_count(stack, 100, timeout=60)
            sent_at = asyncio.run(produce_at_rate(stack.bootstrap, args.rate, args.seconds))
            total = int(sent_at.pop("__total__"))
            achieved = total / sent_at.pop("__seconds__")
            wait_for_count(stack, 100 + total, timeout=120)
            with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
                rows = conn.execute(
                    "SELECT transaction_id, extract(epoch FROM detected_at) FROM alerts"
                    " WHERE kind = 'large_transaction' AND transaction_id LIKE 'lat-%%'"
                ).fetchall()
        finally:
            assert stack.worker is not None
            stop_worker(stack.worker)
    latencies = sorted(
        (float(detected) - sent_at[tid]) * 1000 for tid, detected in rows if tid in sent_at
    )
    assert len(latencies) == len(sent_at), f"{len(sent_at) - len(latencies)} alerts missing"
    result = {
        "target_rate_per_s": args.rate,
        "achieved_rate_per_s": round(achieved),
        "seconds": args.seconds,
        "alerts_measured": len(latencies),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(statistics.quantiles(latencies, n=100)[98], 1),
        "latency_ms_max": round(latencies[-1], 1),
    }
    record("alert_latency", result)
    return result


if __name__ == "__main__":
    main()
