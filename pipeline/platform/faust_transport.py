"""Faust's aiokafka transport with three changes.

- A configurable fetch wait: faust-streaming hard-codes ``fetch_max_wait_ms=1500`` for the worker's
  consumer. A broker may hold a fetch that long even when data arrives (Tansu does: measured p50
  365 ms per message at 1500 ms, 1.5 ms at 100 ms), which put ~1 s on every alert.
- The batch path (``pipeline.platform.batches``): ``_drain_messages`` is Faust's own loop, except that
  messages of a topic with a batch route go to its handler a fetched batch at a time, instead of one
  ``wait_first(callback(message), ...)`` each (four tasks per message). The other messages of a
  fetch (the tables' changelogs) go to Faust's callback in order, under one such wait per fetch.
  While a batch is handled, the loop fetches and prepares the next (``batches.InFlight``).
- Highwaters past the last record. The embedded broker answers "latest offset" with one past the
  first record of a partition's last batch, not one past its last record; Faust restores a table
  from its changelog up to that, and the records after it, still on their way from the fetcher,
  reach the table's store after the worker has started writing it. ``highwaters`` reads the
  partition's last batch to find the true end (on Kafka the two agree and nothing changes).

Both replace private faust-streaming code: the version is pinned in pyproject.toml, and
``tests/unit/platform/test_faust_transport.py`` fails when the upstream code they replace changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

from pipeline.platform.batches import BatchRoute, BatchRoutes, InFlight, routes_of

FETCH_MAX_WAIT_MS = 20


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def highwaters(self, *partitions: Any) -> Mapping[Any, int]:
        reported = dict(await super().highwaters(*partitions))
        return await self._past_last_records(reported)

    async def _past_last_records(self, reported: dict[Any, int]) -> dict[Any, int]:
        """Each partition's end: one past the last record there is, read from the reported end's
        batch on. (The embedded broker reports the first record of the last batch, plus one.)"""
        probed = {tp: end for tp, end in reported.items() if end}
        if not probed:
            return reported
        conf = self.app.conf
        reader = AIOKafkaConsumer(
            bootstrap_servers=faust_aiokafka.server_list(
                self.transport.url, self.transport.default_port
            ),
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            **faust_aiokafka.credentials_to_aiokafka_auth(
                conf.broker_credentials, conf.ssl_context
            ),
        )
        await reader.start()
        ends = dict(reported)
        try:
            parts = {tp: TopicPartition(tp.topic, tp.partition) for tp in probed}
            reader.assign(list(parts.values()))
            for tp, end in probed.items():
                reader.seek(parts[tp], end - 1)
            back = {v: k for k, v in parts.items()}
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                fetched = await reader.getmany(timeout_ms=100)
                if not any(fetched.values()):
                    break  # read to the end of every partition
                for part, records in fetched.items():
                    if records:
                        tp = back[part]
                        ends[tp] = max(ends[tp], records[-1].offset + 1)
        finally:
            await reader.stop()
        return ends

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover (a worker runs it)
        """faust.transport.consumer.Consumer._drain_messages, with the batch path."""
        routes = routes_of(self.app)
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        in_flight = InFlight()
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                ait = self.getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    generation = self.app.consumer_generation_id

                    def still_current(generation: int = generation) -> bool:
                        # A rebalance since the batch was fetched: its partitions may be someone
                        # else's now. Nothing of it was tracked; their owners fetch it again.
                        return self.app.consumer_generation_id == generation

                    batches = await self._drain_fetched(ait, routes.handlers)
                    await self._gather_more(batches, routes)
                    for topic, messages in batches.items():
                        for i in range(0, len(messages), routes.size):
                            chunk = messages[i : i + routes.size]
                            route = routes.handlers[topic]
                            if not await in_flight.hand_over(self, route, chunk, still_current):
                                break
                    await self._commit_if_due()
                    self.diag.unset_flag(CONSUMER_FETCHING)
            await in_flight.finish()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            await in_flight.abandon()  # only on the way out with an error: finished otherwise
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _drain_fetched(self, ait: Any, routes: dict[str, BatchRoute]) -> dict[str, list[Any]]:
        """One fetch: routed topics' messages gathered per topic, the rest through Faust's callback
        as upstream does; read offsets and gaps kept as upstream keeps them."""
        batches: dict[str, list[Any]] = {}
        others: list[Any] = []
        get_read_offset = self._read_offset.__getitem__
        since_yield = 0
        async for tp, message in ait:
            since_yield += 1
            if since_yield > 100:
                await asyncio.sleep(0)
                since_yield = 0
            offset = message.offset
            r_offset = get_read_offset(tp)
            if r_offset is not None and offset < r_offset:
                continue  # upstream drops it too: already read
            gap = offset - (r_offset or 0)
            if gap > 1 and r_offset and self.app.topics.acks_enabled_for(message.topic):
                await self._add_gap(tp, r_offset + 1, offset)
            handler = routes.get(tp.topic)
            if handler is not None:
                batches.setdefault(tp.topic, []).append(message)
            else:
                others.append(message)
            self._read_offset[tp] = offset
        if others:
            # Upstream waits on each message's callback or the flow's suspension (four tasks a
            # message); once suspended, every later message of the fetch is dropped. One wait for
            # the fetch's other messages, in order, drops the same ones: the standby and restoring
            # copies of the changelogs no longer pay it per record.
            await self._commit_if_due()
            await self.wait_first(self._in_order(others), self.suspend_flow.wait())
        return batches

    async def _in_order(self, messages: list[Any]) -> None:
        callback = self.callback
        for message in messages:
            await callback(message)

    async def _gather_more(self, batches: dict[str, list[Any]], routes: BatchRoutes) -> None:
        """Fetch again while the batch is below its size and younger than its window."""
        if not batches:
            return
        deadline = time.monotonic() + routes.within
        while not self.should_stop and self.flow_active:
            gathered = sum(len(m) for m in batches.values())
            left = deadline - time.monotonic()
            if gathered >= routes.size or left <= 0:
                return
            more = await self._drain_fetched(self.getmany(timeout=left), routes.handlers)
            for topic, messages in more.items():
                batches.setdefault(topic, []).extend(messages)

    async def _commit_if_due(self) -> None:
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()


class Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


def install(fetch_max_wait_ms: int) -> None:
    """Make ``kafka://`` URLs use this transport."""
    global FETCH_MAX_WAIT_MS
    FETCH_MAX_WAIT_MS = fetch_max_wait_ms
    TRANSPORTS.data["kafka"] = f"{__name__}:Transport"
    TRANSPORTS.data["aiokafka"] = f"{__name__}:Transport"
