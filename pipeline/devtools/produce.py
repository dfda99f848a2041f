"""Publishing files to ``transactions``: JSONL lines as they are, CSV rows as JSON objects."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from pipeline.platform.topics import TRANSACTIONS, ensure_topics, key_of
from pipeline.platform.transport import kafka_client_options


@dataclass
class ProduceSummary:
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0


def read_messages(path: Path) -> Iterator[bytes]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                yield orjson.dumps({k: v for k, v in row.items() if v not in (None, "")})
    else:
        with path.open("rb") as fh:
            for line in fh:
                line = line.rstrip(b"\r\n")
                if line.strip():
                    yield line


def count_messages(path: Path) -> int:
    return sum(1 for _ in read_messages(path))


async def produce(
    bootstrap: str,
    messages: Iterator[bytes],
    partitions: int,
    topic: str = TRANSACTIONS.name,
    on_sent: Callable[[int], None] | None = None,
) -> ProduceSummary:
    await ensure_topics(bootstrap, partitions)
    producer = AIOKafkaProducer(
        **kafka_client_options(),
        bootstrap_servers=bootstrap,
        linger_ms=5,
        max_batch_size=1 << 20,
        acks="all",
        enable_idempotence=False,
    )
    summary = ProduceSummary()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await producer.start()
    try:
        window: list[asyncio.Future] = []

        async def drain() -> None:
            for result in await asyncio.gather(*window, return_exceptions=True):
                if isinstance(result, BaseException):
                    summary.failed += 1
                else:
                    summary.sent += 1
            if on_sent:
                on_sent(len(window))
            window.clear()

        for value in messages:
            window.append(await producer.send(topic, value, key=key_of(value)))
            if len(window) >= 2000:
                await drain()
        await drain()
        await producer.flush()
    finally:
        await producer.stop()
    summary.seconds = loop.time() - started
    return summary
