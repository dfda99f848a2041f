"""Reading dead-letter topics and replaying their messages (idempotent: transaction ids dedupe)."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from pipeline.platform.reading import read_to_end
from pipeline.platform.topics import TRANSACTIONS, key_of
from pipeline.platform.transport import kafka_client_options


async def read_dead_letters(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record of ``topic`` from the beginning, with its headers decoded."""
    records = []
    for r in await read_to_end(bootstrap, topic):
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
    return records


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
