"""Ingest: produce → committed in PostgreSQL with aggregates, vs a raw aiokafka consumer, vs the sink alone.

All three on the same messages, the same broker and the same database server, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import (
    BenchStack,
    bench_stack,
    messages,
    pipeline_rate,
    record,
)
from config import Settings
from models.batch import SourceMessage, triage
from pipeline.alerts.detection import AnomalyDetector
from pipeline.bootstrap import WORKER_GC_THRESHOLD
from pipeline.devtools.local_table import LocalTable
from pipeline.devtools.produce import produce
from pipeline.ingest.sink import TransactionSink
from tables.spike_windows import SpikeWindows


async def raw_consume_rate(stack: BenchStack, n: int) -> float:
    """A plain aiokafka consumer that reads and JSON-decodes every message."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=1 << 22,
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition("transactions", p)
            for p in consumer.partitions_for_topic("transactions") or ()
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen = 0
        started = time.perf_counter()
        while seen < n:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for r in records:
                    orjson.loads(r.value)
                seen += len(records)
        return n / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def sink_alone_rate(database_url: str, values: list[bytes], batch: int) -> float:
    """The worker's triage, sink and anomaly detection on the same messages, without Kafka, under
    the worker's garbage-collector thresholds (as the worker runs them)."""
    collecting = gc.get_threshold()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    try:
        return await _sink_alone_rate(database_url, values, batch)
    finally:
        gc.set_threshold(*collecting)


async def _sink_alone_rate(database_url: str, values: list[bytes], batch: int) -> float:
    settings = Settings()
    # The windows' table without a broker: the store and the records, no changelog round trip.
    table = LocalTable()
    windows = SpikeWindows(table, table, "transactions", settings.late_event_seconds * 1_000_000)
    sink = TransactionSink(database_url, AnomalyDetector(settings, windows))
    started = time.perf_counter()
    for i in range(0, len(values), batch):
        chunk = [
            SourceMessage("transactions", 0, i + j, None, v)
            for j, v in enumerate(values[i : i + batch])
        ]
        t = triage(chunk, datetime.now(UTC), timedelta(minutes=5))
        accepted = t.accepted + t.misrouted  # no broker here to re-key through
        result = await sink.write(accepted, t.dead)
        if result.settle is not None:
            await result.settle()
    await sink.close()
    return len(values) / (time.perf_counter() - started)


def end_to_end_rate(values: list[bytes], workers: int) -> tuple[float, float]:
    """(end-to-end rate with ``workers`` worker processes, raw consumer rate) on one fresh stack."""
    with bench_stack() as stack:
        asyncio.run(produce(stack.bootstrap, iter(values), 4))
        raw = asyncio.run(raw_consume_rate(stack, len(values)))
        return pipeline_rate(stack, len(values), workers), raw


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args(argv)
    values = messages(args.messages)
    one, raw = end_to_end_rate(values, workers=1)
    two, raw2 = end_to_end_rate(values, workers=2)
    with bench_stack() as stack:
        alone = asyncio.run(sink_alone_rate(stack.database_url, values, batch=2000))
    result = {
        "messages": len(values),
        "raw_aiokafka_consume_per_s": round(raw),
        "sink_alone_per_s": round(alone),
        "end_to_end_per_s": round(one),
        "ratio_to_raw": round(one / raw, 3),
        "ratio_to_sink_alone": round(one / alone, 3),
        "end_to_end_two_workers_per_s": round(two),
        "two_workers_ratio_to_raw": round(two / raw2, 3),
    }
    record("ingest", result)
    return result


if __name__ == "__main__":
    main()
