"""Alert latency: produce → the alert on topic ``alerts``, at a sustained transaction rate.

One transaction in 50 is above the threshold. Its send time (wall clock) is compared with two
moments of its alert, on the same machine:

- **on the topic** (issue 14's measure): when a consumer of ``alerts``, on its own thread and
  event loop with a 5 ms fetch wait, received it;
- two stages on the way, to show where the time goes: **stored**, the alert row's ``detected_at``
  (PostgreSQL's clock_timestamp in the sink's transaction), and **handed to the producer**, the
  record's CreateTime (the worker's clock, in milliseconds); after it come the producer's linger,
  the broker and the watcher's fetch.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

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


class TopicWatch:
    """Receipt times of large-transaction alerts on topic ``alerts``, by transaction id.

    Its own thread and event loop, so the producer's loop at thousands of sends a second does not
    delay the clock reading of a receipt."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self.received: dict[str, float] = {}
        # The record's CreateTime: when the worker's producer took the alert (millisecond clock).
        self.handed_over: dict[str, float] = {}
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="alerts-watch", daemon=True)

    def __enter__(self) -> TopicWatch:
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("the alerts watcher did not start within 60 s")
        self._raise()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self._raise()

    def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ids <= self.received.keys() and time.monotonic() < deadline:
            self._raise()
            time.sleep(0.1)

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError("the alerts watcher failed") from self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except BaseException as exc:  # surfaced in the main thread by _raise
            self._error = exc
            self._ready.set()

    async def _watch(self) -> None:
        await ensure_topics(self._bootstrap, 4)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition("alerts", p) for p in consumer.partitions_for_topic("alerts") or ()
            ]
            consumer.assign(partitions)
            # Positions are taken now: every alert published from here on is seen.
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
            self._ready.set()
            while not self._stop.is_set():
                batch = await consumer.getmany(timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        body = orjson.loads(record.value)
                        if body.get("kind") == "large_transaction":
                            self.received.setdefault(body["transaction_id"], now)
                            self.handed_over.setdefault(
                                body["transaction_id"], record.timestamp / 1000
                            )
        finally:
            await consumer.stop()


def _summary(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(statistics.quantiles(ordered, n=100)[98], 1),
        "max": round(ordered[-1], 1),
    }


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
            with TopicWatch(stack.bootstrap) as watch:
                sent_at = asyncio.run(produce_at_rate(stack.bootstrap, args.rate, args.seconds))
                total = int(sent_at.pop("__total__"))
                achieved = total / sent_at.pop("__seconds__")
                wait_for_count(stack, 100 + total, timeout=120)
                watch.wait_for(set(sent_at), timeout=60)
            received, handed_over = dict(watch.received), dict(watch.handed_over)
            with psycopg.connect(db.libpq_url(stack.database_url)) as conn:
                rows = conn.execute(
                    "SELECT transaction_id, extract(epoch FROM detected_at) FROM alerts"
                    " WHERE kind = 'large_transaction' AND transaction_id LIKE 'lat-%%'"
                ).fetchall()
        finally:
            assert stack.worker is not None
            stop_worker(stack.worker)
    stored = [(float(detected) - sent_at[tid]) * 1000 for tid, detected in rows if tid in sent_at]
    on_topic = [(received[tid] - sent) * 1000 for tid, sent in sent_at.items() if tid in received]
    assert len(stored) == len(sent_at), f"{len(sent_at) - len(stored)} alerts not stored"
    assert len(on_topic) == len(sent_at), f"{len(sent_at) - len(on_topic)} alerts not on the topic"
    to_producer = [
        (handed_over[tid] - sent) * 1000 for tid, sent in sent_at.items() if tid in handed_over
    ]
    topic, row, producer = _summary(on_topic), _summary(stored), _summary(to_producer)
    result = {
        "target_rate_per_s": args.rate,
        "achieved_rate_per_s": round(achieved),
        "seconds": args.seconds,
        "alerts_measured": len(on_topic),
        "latency_ms_p50": topic["p50"],
        "latency_ms_p99": topic["p99"],
        "latency_ms_max": topic["max"],
        "stored_latency_ms_p50": row["p50"],
        "stored_latency_ms_p99": row["p99"],
        "stored_latency_ms_max": row["max"],
        "handed_to_producer_ms_p50": producer["p50"],
        "handed_to_producer_ms_p99": producer["p99"],
    }
    record("alert_latency", result)
    return result


if __name__ == "__main__":
    main()
