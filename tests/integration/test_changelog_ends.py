"""The embedded broker reports a partition's end as one past the first record of its last batch;
the transport reads on to the true end, so Faust restores a table's changelog to its last record.
Real broker."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP
from yarl import URL

from pipeline.platform.faust_transport import _Consumer
from tests.harness import Stack

pytestmark = pytest.mark.integration


async def ends(bootstrap: str) -> tuple[int, int, dict[TP, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        for size in (1, 3, 5):  # the last send is one batch of 5 records
            sent = [await producer.send("ends", b"x", partition=0) for _ in range(size)]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    part = TopicPartition("ends", 0)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await reader.start()
    try:
        reported = (await reader.end_offsets([part]))[part]
    finally:
        await reader.stop()
    consumer = SimpleNamespace(
        app=SimpleNamespace(conf=SimpleNamespace(broker_credentials=None, ssl_context=None)),
        transport=SimpleNamespace(url=[URL(f"kafka://{bootstrap}")], default_port=9092),
    )
    tp = TP("ends", 0)
    found = await _Consumer._past_last_records(consumer, {tp: reported})  # type: ignore[arg-type]
    return 9, reported, found


def test_highwaters_reach_past_the_last_record(stack: Stack):
    records, reported, found = asyncio.run(ends(stack.bootstrap))
    assert reported < records, "the broker reports the end short (else this test shows nothing)"
    assert found == {TP("ends", 0): records}
