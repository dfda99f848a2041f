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

from pipeline.platform import batches

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
    for name in ("track_message", "ack", "getmany", "_add_gap", "commit", "wait_first"):
        assert hasattr(Consumer, name), name


class FakeConsumer:
    """Just what the batch path touches: tracking, acks, the monitor."""

    def __init__(self) -> None:
        self.tracked: list[Any] = []
        self.acked: list[Any] = []
        self.app = SimpleNamespace(monitor=SimpleNamespace(stream_inbound_time={}, events_total=0))

    def track_message(self, message: Any) -> None:
        self.tracked.append(message)

    def ack(self, message: Any) -> None:
        self.acked.append(message)


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
