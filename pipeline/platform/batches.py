"""The batch path: messages of the hot topics reach their handlers as the batches the consumer
fetched, without Faust's per-message stream machinery (about 45 µs a message as shipped, against a
few µs here: docs/PERFORMANCE.md).

What Faust gives is kept. Each message is tracked (``track_message``: the monitor sees it, and a
rebalance waits for it in ``wait_empty``), and acknowledged only after its handler returned, that
is after the database commit, and after whatever the handler's outcome says must settle first (its
``settle``: the spike windows' changelog); the consumer's ``ack_all`` does ``Consumer.ack``'s
bookkeeping for the batch under one hold of its lock. Settling overlaps the next batch; at most
``MAX_SETTLING`` batches wait to settle at a time. Faust's own commit timer and gap handling commit
the offsets. Handling overlaps too (``InFlight``): while one batch waits on the database, the next
is fetched and prepared (a route's ``prepare``: decoding and triage); batches are still handled one
at a time, in the order fetched. The consumer's fetch keeps ``Consumer.getmany``'s generation,
flow and assignment checks (pipeline.platform.faust_transport). A topic keeps an agent as its
public face: it subscribes the topic and shows in Faust's pages, but no event reaches its stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from pipeline.platform.failures import stop_hard

BatchHandler = Callable[[Any], Awaitable[object]]
BatchPreparer = Callable[[Sequence[Any]], Awaitable[Any]]
_ROUTES = "pulse_batch_routes"
MAX_SETTLING = 4


async def _as_fetched(messages: Sequence[Any]) -> Sequence[Any]:
    return messages


@dataclass(frozen=True)
class BatchRoute:
    """A routed topic's handler, and what can be done to a batch before the batch in hand is done
    (``prepare``: no state of the handler's may change; by default, nothing). ``handle`` takes
    what ``prepare`` gave."""

    handle: BatchHandler
    prepare: BatchPreparer = _as_fetched


@dataclass
class BatchRoutes:
    """The app's routed topics, and how long a batch may gather: up to ``size`` messages, or
    ``within`` seconds after the first arrived (PULSE_SINK_BATCH_SIZE and _SECONDS)."""

    size: int
    within: float
    handlers: dict[str, BatchRoute] = field(default_factory=dict)
    # Batches handled, not yet acknowledged: waiting for their outcome to settle.
    settling: deque[asyncio.Task[None]] = field(default_factory=deque)


def configure_batches(app: Any, size: int, within: float) -> None:
    app.__dict__[_ROUTES] = BatchRoutes(size, within)


def route_batches(
    app: Any,
    topic: Any,
    handler: BatchHandler,
    agent_name: str,
    prepare: BatchPreparer = _as_fetched,
) -> None:
    """Deliver ``topic``'s messages to ``handler`` in fetched batches, on ``app``'s consumer
    (after ``configure_batches``); ``handler`` takes what ``prepare`` made of each batch."""
    app.__dict__[_ROUTES].handlers[topic.get_topic_name()] = BatchRoute(handler, prepare)

    @app.agent(topic, name=agent_name)
    async def subscribed(stream):  # type: ignore[no-untyped-def]
        async for _ in stream:  # never: the consumer hands this topic's messages to the handler
            pass


# An app that routes nothing: every message takes Faust's own path.
_NO_ROUTES = BatchRoutes(size=1, within=0.0)


def routes_of(app: Any) -> BatchRoutes:
    return app.__dict__.get(_ROUTES, _NO_ROUTES)


class InFlight:
    """The batch being handled while the drain loop fetches and prepares the next: at most one, so
    batches are handled one at a time, in the order they were fetched."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def hand_over(
        self,
        consumer: Any,
        route: BatchRoute,
        messages: list[Any],
        still_current: Callable[[], bool],
    ) -> bool:
        """Prepare ``messages`` while the batch before is handled, then, once that one is done,
        start handling them, unless ``still_current`` says no longer (a rebalance happened
        meanwhile: nothing of the batch was tracked, its partitions' owners fetch it again)."""
        if not still_current():
            return False
        try:
            prepared = await route.prepare(messages)
        except asyncio.CancelledError:
            raise
        except BaseException:
            stop_hard(f"preparing a batch of {len(messages)} from {messages[0].topic}")
        await self.finish()
        if not still_current():
            return False
        _track(consumer, messages)  # before any await: a rebalance now waits for the batch
        self._task = asyncio.ensure_future(_handled(consumer, route.handle, messages, prepared))
        return True

    async def finish(self) -> None:
        """Wait for the batch in hand, if any."""
        task, self._task = self._task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        """Cancel the batch in hand, if any, and wait for it: it stays unacknowledged."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _track(consumer: Any, messages: list[Any]) -> None:
    """From here a rebalance waits for the messages to be acknowledged (``wait_empty``)."""
    monitor = consumer.app.monitor
    for message in messages:
        consumer.track_message(message)
    if monitor is not None:
        now = monotonic()
        for tp in {m.tp for m in messages}:
            monitor.stream_inbound_time[tp] = now  # Faust's "stream is idle" check stays quiet


async def _handled(
    consumer: Any, handler: BatchHandler, messages: list[Any], prepared: Any
) -> None:
    """One tracked batch of one topic: handled, settled, then acknowledged, in that order.

    ``handler`` deals with content and transient failures itself; anything that still escapes it
    (or its settling) is a bug, and the process stops without acknowledging the batch. A
    cancellation (shutdown, the app crashing) leaves it unacknowledged: it is redelivered.
    """
    try:
        outcome = await handler(prepared)
    except asyncio.CancelledError:
        raise
    except BaseException:
        stop_hard(f"handling a batch of {len(messages)} from {messages[0].topic}")
    settle = getattr(outcome, "settle", None)
    if settle is None:
        _acknowledge(consumer, messages)
        return
    routes = routes_of(consumer.app)
    routes.settling.append(asyncio.ensure_future(_settled(consumer, settle, messages)))
    while routes.settling and (len(routes.settling) > MAX_SETTLING or routes.settling[0].done()):
        await routes.settling.popleft()


async def _settled(
    consumer: Any, settle: Callable[[], Awaitable[None]], messages: list[Any]
) -> None:
    try:
        await settle()
    except asyncio.CancelledError:
        raise
    except BaseException:
        stop_hard(f"settling a batch of {len(messages)} from {messages[0].topic}")
    _acknowledge(consumer, messages)


def _acknowledge(consumer: Any, messages: list[Any]) -> None:
    consumer.ack_all(messages)
    monitor = consumer.app.monitor
    if monitor is not None:
        monitor.events_total += len(messages)
