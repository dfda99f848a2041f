"""The outbox relay's hand-over: messages go to the producer in order at once; finishing waits for the
broker and marks the rows; a failure anywhere is left to the relay, never raised into a batch."""

from __future__ import annotations

import asyncio
from typing import Any

from pipeline.platform.relay import OutboxStore, Outgoing, Relay


class Topic:
    def __init__(self, fail_send: bool = False) -> None:
        self.sent: list[bytes] = []
        self.acks: list[asyncio.Future[None]] = []
        self._fail_send = fail_send

    async def send(self, key: bytes, value: bytes) -> asyncio.Future[None]:
        if self._fail_send:
            raise ConnectionError("broker gone")
        self.sent.append(value)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


class Connection:
    def __init__(self) -> None:
        self.discarded = 0

    async def get(self) -> str:
        return "conn"

    async def discard(self) -> None:
        self.discarded += 1


def relay(topic: Topic, marked: list[Any]) -> tuple[Relay, Connection]:
    async def mark(conn: Any, idents: list[Any]) -> None:
        marked.append(idents)

    async def nothing(*_: Any) -> Any:
        return []

    store = OutboxStore("things", nothing, lambda r: r, lambda r: r, mark, nothing)
    r = Relay("postgresql://unused", topic, store)
    connection = Connection()
    r._connection = connection  # type: ignore[assignment]
    return r, connection


ITEMS = [Outgoing(n, b"k", f"m{n}".encode()) for n in range(3)]


def test_hand_over_sends_at_once_and_marks_after_the_broker_acknowledged():
    async def scenario() -> tuple[list[bytes], list[Any], list[Any]]:
        topic, marked = Topic(), []
        r, _ = relay(topic, marked)
        finish = await r.hand_over(ITEMS)
        sent_before = list(topic.sent)
        task = asyncio.ensure_future(finish())
        await asyncio.sleep(0)
        marked_before_ack = list(marked)
        for ack in topic.acks:
            ack.set_result(None)
        await task
        return sent_before, marked_before_ack, marked

    sent, marked_before_ack, marked = asyncio.run(scenario())
    assert sent == [b"m0", b"m1", b"m2"]
    assert marked_before_ack == []
    assert marked == [[0, 1, 2]]


def test_a_refused_send_or_ack_is_left_to_the_relay_unmarked():
    async def scenario(topic: Topic) -> tuple[list[Any], int]:
        marked: list[Any] = []
        r, connection = relay(topic, marked)
        finish = await r.hand_over(ITEMS)
        for ack in topic.acks:
            ack.set_exception(ConnectionError("no ack"))
        await finish()
        return marked, connection.discarded

    assert asyncio.run(scenario(Topic(fail_send=True))) == ([], 1)
    assert asyncio.run(scenario(Topic())) == ([], 1)  # every ack fails


def test_nothing_to_hand_over_costs_nothing():
    topic, marked = Topic(), []
    r, _ = relay(topic, marked)

    async def scenario() -> None:
        await (await r.hand_over([]))()

    asyncio.run(scenario())
    assert (topic.sent, marked) == ([], [])
