"""The Faust internals the batch path replaces or leans on, pinned: an upgrade that changes any of
them fails here first (read the new upstream code, port the change, then update the digest)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.stores.rocksdb import Store
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer
from faust.types import TP

from pipeline.platform import batches, faust_transport

# sha256 of the upstream source, faust-streaming 0.15.3.
UPSTREAM = {
    # Replaced by faust_transport._Consumer._drain_messages (the same loop, with the batch path).
    (
        Consumer,
        "_drain_messages",
    ): "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417",
    # Extended by faust_transport._ConsumerThread (the fetch wait).
    (
        AIOKafkaConsumerThread,
        "_create_worker_consumer",
    ): "c2701bfc3e6f6cad95c2be36d6a255a86e2c57d18d36cc1082b5fb5c482d99d7",
    # Leaned on by tables.spike_windows.Changelog: the underlying aiokafka producer (for its
    # public create_batch / send_batch), and the store's raw writes under the table's serializer.
    (
        Producer,
        "_ensure_producer",
    ): "5592a4bbdf2513253f98233a4eac931ded2a531a86f269cddcc33bc3f5827db5",
    # Replaced by faust_transport._Consumer._drain_fetched (a fetch in one pass) and .ack_all (the
    # acknowledgements of a batch under one hold of the lock); the fetch itself is leaned on.
    (Consumer, "getmany"): "4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e",
    (Consumer, "ack"): "5fcf41cf45153475de3790dc56fec1b83335956dc8b3bf7ff6bbb2b57627f03f",
    (
        Consumer,
        "_wait_next_records",
    ): "6218e1969a636b3ff504ad1b8e7ad58a113572e43d746cc96d684ed5153032c6",
    (Store, "_set"): "4227e561e288d9413bf663a3a67940fd4976f5484e70e49445858ce4d400d26e",
    (Store, "_del"): "07f42ff3caefffddb002ba3c316120ee8a608a15021fa226fd8e9ba2635004a9",
}


def test_faust_is_the_pinned_version():
    assert faust.__version__ == "0.15.3"


@pytest.mark.parametrize(("owner", "name"), list(UPSTREAM), ids=lambda x: getattr(x, "__name__", x))
def test_the_upstream_code_we_replace_has_not_changed(owner: type, name: str):
    source = inspect.getsource(getattr(owner, name))
    assert hashlib.sha256(source.encode()).hexdigest() == UPSTREAM[(owner, name)]


def test_the_batch_path_uses_only_what_the_consumer_still_has():
    for name in (
        "track_message",
        "_add_gap",
        "commit",
        "wait_first",
        "_to_message",
        "perform_seek",
        "highwater",
    ):
        assert hasattr(Consumer, name), name


class FakeConsumer:
    """Just what the batch path touches: tracking, acks, the monitor."""

    def __init__(self) -> None:
        self.tracked: list[Any] = []
        self.acked: list[Any] = []
        self.app = SimpleNamespace(monitor=SimpleNamespace(stream_inbound_time={}, events_total=0))

    def track_message(self, message: Any) -> None:
        self.tracked.append(message)

    def ack_all(self, messages: Any) -> None:
        self.acked.extend(messages)


@pytest.fixture
def stopped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``stop_hard`` was called for; it raises SystemExit instead of ending the process."""
    calls: list[str] = []

    def stop_hard(what: str) -> None:
        calls.append(what)
        raise SystemExit(70)

    monkeypatch.setattr(batches, "stop_hard", stop_hard)
    return calls


def messages(n: int) -> list[Any]:
    return [SimpleNamespace(tp=("transactions", i % 2), topic="transactions") for i in range(n)]


async def deliver(consumer: FakeConsumer, handler: Any, batch: list[Any]) -> None:
    """One batch through the batch path, nothing in hand before it."""
    in_flight = batches.InFlight()
    assert await in_flight.hand_over(consumer, batches.BatchRoute(handler), batch, lambda: True)
    await in_flight.finish()


def test_a_batch_is_tracked_handled_then_acknowledged():
    consumer, batch, seen = FakeConsumer(), messages(4), []

    async def handler(items: Any) -> None:
        assert consumer.tracked == batch
        assert consumer.acked == []
        seen.extend(items)

    asyncio.run(deliver(consumer, handler, batch))
    assert seen == batch
    assert consumer.acked == batch
    assert consumer.app.monitor.events_total == 4
    assert set(consumer.app.monitor.stream_inbound_time) == {
        ("transactions", 0),
        ("transactions", 1),
    }


def test_a_cancelled_batch_is_never_acknowledged():
    consumer = FakeConsumer()

    async def handler(items: Any) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(deliver(consumer, handler, messages(3)))
    assert consumer.acked == []


def test_a_bug_stops_the_process_without_acknowledging(stopped: list[str]):
    consumer = FakeConsumer()

    async def handler(items: Any) -> None:
        raise AttributeError("a bug")

    with pytest.raises(SystemExit):
        asyncio.run(deliver(consumer, handler, messages(2)))
    assert consumer.acked == []
    assert stopped == ["handling a batch of 2 from transactions"]


def test_the_next_batch_is_prepared_while_one_is_handled_and_handled_after_it():
    consumer, log = FakeConsumer(), []
    first, second = messages(2), messages(3)
    release = asyncio.Event()

    async def prepare(items: Any) -> list[Any]:
        log.append(("prepare", len(items)))
        return list(items)

    async def handle(items: Any) -> None:
        log.append(("handle", len(items)))
        if len(items) == 2:
            await release.wait()  # the database's wait
            log.append(("handled", 2))

    route = batches.BatchRoute(handle, prepare)

    async def run() -> None:
        in_flight = batches.InFlight()
        assert await in_flight.hand_over(consumer, route, first, lambda: True)
        await asyncio.sleep(0)
        assert log == [("prepare", 2), ("handle", 2)]
        handing = asyncio.ensure_future(in_flight.hand_over(consumer, route, second, lambda: True))
        await asyncio.sleep(0)
        assert log[-1] == ("prepare", 3)  # prepared while the first waits
        assert consumer.acked == []
        release.set()
        assert await handing
        await in_flight.finish()

    asyncio.run(run())
    assert log == [("prepare", 2), ("handle", 2), ("prepare", 3), ("handled", 2), ("handle", 3)]
    assert consumer.acked == first + second


def test_a_batch_fetched_before_a_rebalance_is_neither_tracked_nor_handled():
    consumer, handled = FakeConsumer(), []
    generation = [1]
    release = asyncio.Event()

    async def handle(items: Any) -> None:
        handled.append(len(items))
        if len(items) == 2:
            await release.wait()
            generation[0] = 2  # the rebalance came while the first batch was handled

    route = batches.BatchRoute(handle)

    async def run() -> bool:
        in_flight = batches.InFlight()
        current = lambda fetched=generation[0]: generation[0] == fetched  # noqa: E731
        assert await in_flight.hand_over(consumer, route, messages(2), current)
        handing = asyncio.ensure_future(in_flight.hand_over(consumer, route, messages(3), current))
        await asyncio.sleep(0)
        release.set()
        return await handing

    assert asyncio.run(run()) is False
    assert handled == [2]
    assert len(consumer.tracked) == 2
    assert len(consumer.acked) == 2


def test_an_abandoned_batch_stays_unacknowledged():
    consumer = FakeConsumer()

    async def handle(items: Any) -> None:
        await asyncio.Event().wait()

    async def run() -> None:
        in_flight = batches.InFlight()
        await in_flight.hand_over(consumer, batches.BatchRoute(handle), messages(2), lambda: True)
        await asyncio.sleep(0)
        await in_flight.abandon()

    asyncio.run(run())
    assert len(consumer.tracked) == 2
    assert consumer.acked == []


def test_a_bug_in_preparing_stops_the_process_before_tracking(stopped: list[str]):
    consumer = FakeConsumer()

    async def prepare(items: Any) -> None:
        raise KeyError("a bug")

    async def handle(items: Any) -> None:
        raise AssertionError("never handled")

    route = batches.BatchRoute(handle, prepare)
    with pytest.raises(SystemExit):
        asyncio.run(batches.InFlight().hand_over(consumer, route, messages(2), lambda: True))
    assert consumer.tracked == []
    assert stopped == ["preparing a batch of 2 from transactions"]


def real_consumer() -> Any:
    """The worker's own consumer class, never started: its bookkeeping is plain Python."""
    faust_transport.install(20)
    app = faust.App("batch-path", broker="kafka://127.0.0.1:1")
    consumer = app.consumer
    assert isinstance(consumer, faust_transport._Consumer)
    # Acknowledgements count for subscribed topics only; "changelog" stands for one that is not.
    app.topics.acks_enabled_for = lambda topic: topic != "changelog"  # type: ignore[method-assign]
    return consumer


def consumer_message(consumer: Any, topic: str, partition: int, offset: int) -> Any:
    record = SimpleNamespace(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=1_700_000_000_000,
        timestamp_type=0,
        headers=[],
        key=b"k",
        value=b"v",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=1,
    )
    return consumer._to_message(TP(topic, partition), record)


def bookkeeping(consumer: Any) -> tuple[Any, ...]:
    return (
        {tp: list(offsets) for tp, offsets in consumer._acked.items()},
        {tp: set(index) for tp, index in consumer._acked_index.items()},
        consumer._n_acked,
        sorted((m.tp, m.offset) for m in consumer._unacked_messages),
    )


def test_acknowledging_a_batch_keeps_the_books_consumer_ack_keeps():
    """Already acknowledged, below the committed offset, the same offset twice, a topic without
    acknowledgements: ``ack_all`` leaves the consumer exactly as ``ack`` one by one does."""
    states, flags = [], []
    for batched in (False, True):
        consumer = real_consumer()
        consumer._committed_offset[TP("transactions", 1)] = 5
        batch = [
            consumer_message(consumer, "transactions", 0, 0),
            consumer_message(consumer, "transactions", 0, 1),
            consumer_message(consumer, "transactions", 1, 4),  # below the committed offset
            consumer_message(consumer, "transactions", 1, 5),
            consumer_message(consumer, "transactions", 1, 5),  # the same offset again
            consumer_message(consumer, "changelog", 0, 9),
        ]
        for message in batch:
            consumer.track_message(message)
        consumer.ack(batch[0])  # acknowledged before the batch is
        rest = batch[1:]
        if batched:
            consumer.ack_all(rest)
        else:
            for message in rest:
                consumer.ack(message)
        states.append(bookkeeping(consumer))
        flags.append([m.acked for m in batch])
    assert states[0] == states[1]
    assert flags[0] == flags[1] == [True] * 6
    acked, _, n_acked, unacked = states[1]
    assert acked == {TP("transactions", 0): [0, 1], TP("transactions", 1): [5]}
    assert n_acked == 3
    # What a rebalance would still wait for: the one below the committed offset, the second copy
    # of offset 5, and the topic without acknowledgements, as upstream leaves them.
    assert unacked == [
        (TP("changelog", 0), 9),
        (TP("transactions", 1), 4),
        (TP("transactions", 1), 5),
    ]


def drain(consumer: Any, fetched: dict[Any, list[Any]], active: Any) -> dict[str, list[Any]]:
    async def wait_next_records(wait: float) -> Any:
        return fetched, active

    delivered: list[Any] = []

    async def callback(message: Any) -> None:
        delivered.append((message.topic, message.partition, message.offset))

    async def wait_first(first: Any, *others: Any) -> None:
        # mode's wait_first needs the started service; the flow is never suspended here.
        for other in others:
            other.close()
        await first

    consumer._wait_next_records = wait_next_records
    consumer.callback = callback
    consumer.wait_first = wait_first
    consumer.highwater = lambda tp: 100 + tp.partition
    route = batches.BatchRoute(lambda batch: asyncio.sleep(0))
    batches_ = asyncio.run(consumer._drain_fetched(1.0, {"transactions": route}))
    consumer.delivered = delivered
    return batches_


def records(topic: str, partition: int, offsets: list[int]) -> list[Any]:
    return [
        SimpleNamespace(
            topic=topic,
            partition=partition,
            offset=o,
            timestamp=None,
            timestamp_type=0,
            headers=[],
            key=None,
            value=b"v",
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=1,
        )
        for o in offsets
    ]


def test_a_fetch_becomes_batches_and_keeps_faust_read_offsets_and_gaps():
    consumer = real_consumer()
    gaps: list[tuple[Any, int, int]] = []

    async def add_gap(tp: Any, start: int, end: int) -> None:
        gaps.append((tp, start, end))

    consumer._add_gap = add_gap
    consumer._read_offset[TP("transactions", 0)] = 3
    fetched = {
        TP("transactions", 0): records("transactions", 0, [2, 3, 4, 7]),  # 2 read already
        TP("transactions", 1): records("transactions", 1, [0, 1]),
        TP("transactions", 2): records("transactions", 2, [0]),  # not assigned here
        TP("changelog", 0): records("changelog", 0, [10, 11]),
    }
    active = {TP("transactions", 0), TP("transactions", 1), TP("changelog", 0)}
    got = drain(consumer, fetched, active)
    assert [(m.partition, m.offset) for m in got["transactions"]] == [
        (0, 3),
        (0, 4),
        (0, 7),
        (1, 0),
        (1, 1),
    ]
    assert consumer.delivered == [("changelog", 0, 10), ("changelog", 0, 11)]
    assert gaps == [(TP("transactions", 0), 5, 7)]
    assert consumer._read_offset[TP("transactions", 0)] == 7
    assert consumer._read_offset[TP("transactions", 1)] == 1
    assert consumer._read_offset[TP("transactions", 2)] is None
    assert consumer.app.monitor.tp_end_offsets[TP("transactions", 1)] == 101
    assert TP("transactions", 2) not in consumer.app.monitor.tp_end_offsets


def test_a_fetch_stops_where_a_rebalance_began():
    """Upstream's generator stops at the first record after the generation changed; so does the
    one pass, at its next pause for the event loop: the rest is fetched again by its owner."""
    consumer = real_consumer()
    seen = 0
    real_sleep = asyncio.sleep

    async def rebalance_meanwhile(delay: float) -> None:
        nonlocal seen
        seen += 1
        consumer.app.consumer_generation_id += 1
        await real_sleep(delay)

    fetched = {TP("transactions", 0): records("transactions", 0, list(range(250)))}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(faust_transport.asyncio, "sleep", rebalance_meanwhile)
        got = drain(consumer, fetched, None)
    assert seen == 1
    assert len(got["transactions"]) == 100
    assert consumer._read_offset[TP("transactions", 0)] == 99
