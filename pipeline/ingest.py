"""Ingestion service: what the transactions agent does with each batch.

Never raises on input. A transient database failure is retried until it
passes; anything unexpected stops the process hard, because an exception that
escapes a ``take_events()`` body acknowledges the batch (commits its offsets)
and the messages would be lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from models.batch import DeadLetter, SourceMessage, triage
from pipeline import metrics
from pipeline.alert_outbox import AlertPublisher
from pipeline.retry import retry_transient
from pipeline.sink import SinkResult, TransactionSink

log = logging.getLogger(__name__)
EXIT_INTERNAL_ERROR = 70


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    src = letter.source
    return [
        ("pulse.reason", letter.reason.encode()),
        ("pulse.detail", letter.detail.encode()),
        ("pulse.source.topic", src.topic.encode()),
        ("pulse.source.partition", str(src.partition).encode()),
        ("pulse.source.offset", str(src.offset).encode()),
    ]


class Ingestor:
    def __init__(
        self, sink: TransactionSink, transactions_topic: Any, dlq_topic: Any, alerts: AlertPublisher
    ) -> None:
        self.sink = sink
        self.transactions_topic = transactions_topic
        self.dlq_topic = dlq_topic
        self.alerts = alerts

    async def handle(self, events: Sequence[Any]) -> SinkResult:
        try:
            return await self._handle(events)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise  # shutting down: the batch stays unacknowledged and is redelivered
        except BaseException:
            log.critical(
                "ingestion failed unexpectedly; stopping hard so nothing is acknowledged",
                exc_info=True,
            )
            os._exit(EXIT_INTERNAL_ERROR)

    async def _handle(self, events: Sequence[Any]) -> SinkResult:
        messages = [
            SourceMessage(m.topic, m.partition, m.offset, m.key, m.value)
            for m in (e.message for e in events)
        ]
        batch = triage(messages)
        pending = []
        for a in batch.misrouted:
            # Re-keyed by syndicate; its transaction_id makes the copy harmless if this batch is redelivered.
            pending.append(
                await self.transactions_topic.send(
                    key=a.transaction.syndicate_id.encode(), value=a.source.value
                )
            )
        started = time.perf_counter()
        result = await retry_transient(
            lambda: self.sink.write(batch.accepted, batch.dead),
            on_failure=self._on_sink_failure,
            what=f"writing a batch of {len(batch.accepted)} transactions",
        )
        metrics.SINK_SECONDS.observe(time.perf_counter() - started)
        metrics.SINK_BATCH_SIZE.observe(len(batch.accepted))
        for letter in result.dead:
            pending.append(
                await self.dlq_topic.send(
                    key=letter.source.key,
                    value=letter.source.value or b"",
                    headers=dead_letter_headers(letter),
                )
            )
            metrics.DEAD_LETTERS.labels(letter.source.topic, letter.reason).inc()
        for fut in pending:
            await fut  # delivered before this batch is acknowledged
        if result.alerts:
            # Stored already; publishing is best effort here and completed by the outbox relay.
            await self.alerts.publish(result.alerts)
        result.duplicates += batch.duplicates
        metrics.MESSAGES.labels("inserted").inc(len(result.inserted))
        metrics.MESSAGES.labels("duplicate").inc(result.duplicates)
        metrics.MESSAGES.labels("dead_letter").inc(len(result.dead))
        metrics.MESSAGES.labels("rekeyed").inc(len(batch.misrouted))
        return result

    async def _on_sink_failure(self) -> None:
        metrics.SINK_RETRIES.inc()
        await self.sink.discard()
