"""Faust's aiokafka transport with three changes.

- A configurable fetch wait: faust-streaming hard-codes ``fetch_max_wait_ms=1500`` for the worker's
  consumer. A broker may hold a fetch that long even when data arrives (Tansu does: measured p50
  365 ms per message at 1500 ms, 1.5 ms at 100 ms), which put ~1 s on every alert.
- The batch path (``pipeline.platform.batches``): ``_drain_messages`` is Faust's own loop, except that
  messages of a topic with a batch route go to its handler a fetched batch at a time, instead of one
  ``wait_first(callback(message), ...)`` each (four tasks per message). The other messages of a
  fetch (the tables' changelogs) go to Faust's callback in order, under one such wait per fetch.
  While a batch is handled, the loop fetches and prepares the next (``batches.InFlight``). A fetch
  becomes messages in one pass (``_drain_fetched``, upstream's ``getmany`` without its generator
  step per record), and a handled batch is acknowledged in one (``ack_all``, upstream's ``ack``
  under one hold of its lock).
- Highwaters past the last record. The embedded broker answers "latest offset" with one past the
  first record of a partition's last batch, not one past its last record; Faust restores a table
  from its changelog up to that, and the records after it, still on their way from the fetcher,
  reach the table's store after the worker has started writing it. ``highwaters`` reads the
  partition's last batch to find the true end (on Kafka the two agree and nothing changes).

These replace private faust-streaming code: the version is pinned in pyproject.toml, and
``tests/unit/platform/test_faust_transport.py`` fails when the upstream code they replace changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

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
                await self.sleep(0)
                if not self.should_stop:
                    generation = self.app.consumer_generation_id

                    def still_current(generation: int = generation) -> bool:
                        # A rebalance since the batch was fetched: its partitions may be someone
                        # else's now. Nothing of it was tracked; their owners fetch it again.
                        return self.app.consumer_generation_id == generation

                    batches = await self._drain_fetched(1.0, routes.handlers)
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

    async def _drain_fetched(
        self, wait: float, routes: dict[str, BatchRoute]
    ) -> dict[str, list[Any]]:
        """One fetch: routed topics' messages gathered per topic, the rest through Faust's callback
        as upstream does; read offsets and gaps kept as upstream keeps them.

        ``Consumer.getmany`` in one pass: upstream is an async generator, one step a record, that
        reads the partition's highwater for the monitor and checks the flow, the generation and
        the partition's assignment at every record. Here the assignment and the highwater are read
        once a partition, and the flow and the generation after each pause for the event loop,
        the only points where they can change (a batch is checked again when handed over)."""
        records, active_partitions = await self._wait_next_records(wait)
        if records is None or self.should_stop:
            return {}
        if not self.flow_active:
            await self._seek_back()
            return {}
        generation = self.app.consumer_generation_id
        track_end_offset = self.app.monitor.track_tp_end_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        to_message = self._to_message
        read_offset = self._read_offset
        buffered = self._buffered_partitions
        batches: dict[str, list[Any]] = {}
        others: list[Any] = []
        since_yield = 0
        current = True
        for tp, fetched in records.items():
            if not current:
                break
            if active_partitions is not None and tp not in active_partitions and tp not in buffered:
                continue
            track_end_offset(tp, self.highwater(tp))
            into = batches.setdefault(tp.topic, []) if tp.topic in routes else others
            for record in fetched:
                since_yield += 1
                if since_yield > 100:
                    # The batch in hand runs meanwhile; upstream yields as often.
                    await asyncio.sleep(0)
                    since_yield = 0
                    current = self.flow_active and self.app.consumer_generation_id == generation
                    if not current:
                        break  # as upstream's generator stops: the rest is fetched again
                offset = record.offset
                r_offset = read_offset[tp]
                if r_offset is not None and offset < r_offset:
                    continue  # upstream drops it too: already read
                gap = offset - (r_offset or 0)
                if gap > 1 and r_offset and acks_enabled_for(tp.topic):
                    await self._add_gap(tp, r_offset + 1, offset)
                into.append(to_message(tp, record))
                read_offset[tp] = offset
        if others:
            await self._through_callback(others)
        return batches

    async def _seek_back(self) -> None:
        """As upstream's ``getmany``: a suspended flow seeks back to the committed offsets."""
        try:
            await self.perform_seek()
        except Exception as exc:
            self.log.warning(f"exception performing seek when flow not active {exc}")

    async def _through_callback(self, messages: list[Any]) -> None:
        """Upstream waits on each message's callback or the flow's suspension (four tasks a
        message); once suspended, every later message of the fetch is dropped. One wait for the
        fetch's other messages, in order, drops the same ones: the standby and restoring copies
        of the changelogs no longer pay it per record."""
        await self._commit_if_due()
        await self.wait_first(self._in_order(messages), self.suspend_flow.wait())

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
            more = await self._drain_fetched(left, routes.handlers)
            for topic, messages in more.items():
                batches.setdefault(topic, []).extend(messages)

    def ack_all(self, messages: Sequence[Any]) -> None:
        """``Consumer.ack`` for each message, under one hold of its lock: the same bookkeeping
        (the offsets Faust's commit timer and gap handling commit from), one wake-up for a
        rebalance waiting for the acknowledgements."""
        acks_enabled_for = self.app.topics.acks_enabled_for
        committed_offset = self._committed_offset
        acked_index = self._acked_index
        acked = self._acked
        unacked = self._unacked_messages
        newly_acked = 0
        with ack_lock:
            try:
                for message in messages:
                    if message.acked:
                        continue
                    message.acked = True
                    if not acks_enabled_for(message.topic):
                        continue
                    tp, offset = message.tp, message.offset
                    committed = committed_offset[tp]
                    if committed is None or offset >= committed:
                        index = acked_index[tp]
                        if offset not in index:
                            unacked.discard(message)
                            index.add(offset)
                            acked[tp].append(offset)
                            newly_acked += 1
            finally:
                self._n_acked += newly_acked
                notify(self._waiting_for_ack)

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
