"""Reading dead-letter topics and replaying their messages (idempotent: transaction ids dedupe)."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pipeline.platform.topics import TRANSACTIONS, key_of
from pipeline.platform.transport import kafka_client_options


async def read_dead_letters(
    bootstrap: str, topic: str, idle_seconds: float = 1.0
) -> list[dict[str, Any]]:
    """Every record of ``topic`` from the beginning, with its headers decoded."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **kafka_client_options()
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in partitions]
            if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
                break
            batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000))
            for tp_records in batch.values():
                for r in tp_records:
                    headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
                    records.append(
                        {
                            "topic": r.topic,
                            "partition": r.partition,
                            "offset": r.offset,
                            "reason": headers.get("pulse.reason"),
                            "detail": headers.get("pulse.detail"),
                            "source_partition": headers.get("pulse.source.partition"),
                            "source_offset": headers.get("pulse.source.offset"),
                            "key": None if r.key is None else r.key.decode(errors="replace"),
                            "value": r.value,
                        }
                    )
        return sorted(records, key=lambda x: (x["partition"], x["offset"]))
    finally:
        await consumer.stop()


async def replay(bootstrap: str, values: list[bytes], topic: str = TRANSACTIONS.name) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **kafka_client_options())
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value, key=key_of(value))
        await producer.flush()
    finally:
        await producer.stop()
    return len(values)


async def replay_dead_letters(bootstrap: str, reason: str | None = None) -> int:
    """Re-publish the transactions' dead letters (those with ``reason``, or all) to
    ``transactions``; safe to repeat, as ingestion is idempotent by transaction id."""
    records = await read_dead_letters(bootstrap, "transactions-dlq")
    values = [r["value"] for r in records if r["value"] and reason in (None, r["reason"])]
    return await replay(bootstrap, values)
