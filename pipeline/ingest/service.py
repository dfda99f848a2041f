"""Ingestion service: what the transactions agent does with each batch.

Never raises on input. Transient failures (database, broker) are retried until they pass; a
message whose content breaks the write is isolated and dead-lettered as ``internal_error`` while
the rest of its batch is stored (pipeline.platform.failures says which failure is which). The agent
acknowledges the batch only after ``handle`` returns (pipeline.platform.consuming).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from models.batch import Accepted, DeadLetter, Triage, internal_error, triage
from pipeline.alerts.detection import Settle
from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.sink import SinkResult, TransactionSink
from pipeline.platform import dead_letters, metrics
from pipeline.platform.consuming import isolate, source_of
from pipeline.platform.failures import Failure, classify
from pipeline.platform.partitioning import KeyPartitioner
from pipeline.platform.retry import retry_transient

log = logging.getLogger(__name__)


class Ingestor:
    def __init__(
        self,
        sink: TransactionSink,
        transactions_topic: Any,
        dlq_topic: Any,
        alerts: AlertPublisher,
        partitioner: KeyPartitioner,
        max_future: timedelta,
    ) -> None:
        self.sink = sink
        self.transactions_topic = transactions_topic
        self.dlq_topic = dlq_topic
        self.alerts = alerts
        self.partitioner = partitioner
        self.max_future = max_future

    async def triage(self, events: Sequence[Any]) -> Triage:
        """Decoded and sorted, touching no state of the ingestion's: the worker triages a batch
        while the one before it is still being written."""
        messages = [source_of(e) for e in events]
        await self.partitioner.refresh()
        return triage(messages, datetime.now(UTC), self.max_future, self.partitioner)

    async def handle(self, batch: Triage) -> SinkResult:
        await self._reroute(batch.misrouted)
        started = time.perf_counter()
        result = await self._write(batch)
        metrics.SINK_SECONDS.observe(time.perf_counter() - started)
        metrics.SINK_BATCH_SIZE.observe(len(batch.accepted))
        # Delivered before the batch is acknowledged: a crash before this point redelivers the
        # batch, and triage finds the same dead letters again.
        await retry_transient(
            lambda: dead_letters.publish(self.dlq_topic, result.dead),
            what=f"publishing {len(result.dead)} dead letters",
        )
        if result.alerts:
            _alert_latency(batch, result)
        result.duplicates += batch.duplicates
        metrics.MESSAGES.labels("inserted").inc(len(result.inserted))
        metrics.MESSAGES.labels("duplicate").inc(result.duplicates)
        metrics.MESSAGES.labels("dead_letter").inc(len(result.dead))
        metrics.MESSAGES.labels("rekeyed").inc(len(batch.misrouted))
        return result

    async def _reroute(self, misrouted: list[Accepted]) -> None:
        """Re-publish under the syndicate's key, to the partition its windows live in; the
        transaction_id makes the copy harmless if this batch is redelivered."""

        async def send() -> None:
            pending = []
            for a in misrouted:
                key = a.transaction.syndicate_id.encode()
                pending.append(
                    await self.transactions_topic.send(
                        key=key, value=a.source.value, partition=self.partitioner(key)
                    )
                )
            for fut in pending:
                await fut

        if misrouted:
            await retry_transient(send, None, f"re-routing {len(misrouted)} transactions")

    async def _write(self, batch: Triage) -> SinkResult:
        """One database transaction for the batch; when a message's content breaks it, the
        transactions are written in halves until the message stands alone and is dead-lettered."""
        try:
            return await self._once(batch.accepted, batch.dead)
        except Exception as exc:
            if classify(exc) is not Failure.CONTENT:
                raise
            log.warning("a batch failed on its content (%r); isolating the message", exc)
        poisoned: list[DeadLetter] = []
        parts = await isolate(
            batch.accepted,
            lambda chunk: self._once(list(chunk), []),
            lambda a, exc: poisoned.append(internal_error(a.source, exc)),
        )
        unstorable: list[DeadLetter] = []
        parts += await isolate(
            [*batch.dead, *poisoned],
            lambda chunk: self._once([], list(chunk)),
            lambda letter, exc: unstorable.append(letter),
        )
        result = SinkResult.combine(parts)
        for letter in unstorable:  # still published: the topic is the dead letter's record
            log.error("dead letter %s could not be stored", letter.source)
            result.dead.append(letter)
        return result

    def _once(self, accepted: list[Accepted], dead: list[DeadLetter]) -> Any:
        return retry_transient(
            lambda: self.sink.write(accepted, dead, self._publish_alerts),
            on_failure=self._on_sink_failure,
            what=f"writing a batch of {len(accepted)} transactions",
        )

    async def _publish_alerts(self, result: SinkResult) -> Settle | None:
        """Stored already: handed to the producer at the commit, and acknowledged by the broker
        while the next batch is handled; best effort, completed by the outbox relay."""
        if not result.alerts:
            return None
        return await self.alerts.hand_over_alerts(result.alerts)

    async def _on_sink_failure(self) -> None:
        metrics.SINK_RETRIES.inc()
        await self.sink.discard()


def _alert_latency(batch: Triage, result: SinkResult) -> None:
    """Produce to alert, for the alerts whose transaction's record carried a timestamp."""
    stamped = {a.transaction.transaction_id: a.source.timestamp for a in batch.accepted}
    now = time.time()
    for alert in result.alerts:
        stamp = stamped.get(alert.transaction_id)
        if stamp:
            metrics.ALERT_LATENCY.labels(alert.kind.value).observe(max(0.0, now - stamp))
