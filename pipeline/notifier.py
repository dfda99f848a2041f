"""The notification sender: delivers due outbox rows, retries with backoff, folds storms into digests.

Runs inside ``pulse worker`` (by default) or alone as ``pulse notifier``; several senders can run at once
(rows are claimed with ``FOR UPDATE SKIP LOCKED``).

The one place a message can go out twice: the process dies after the provider accepted it and before
``mark_sent`` committed. Each row is committed right after its own send, so that window is one message
per sender, and the row is re-sent only after its lease (``PULSE_NOTIFIER_LEASE_SECONDS``) expires.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime

import orjson
import psycopg
from aiokafka import AIOKafkaProducer

from config import Settings
from models.notification import (
    Channel,
    RetryPolicy,
    render_digest,
    render_email,
    render_sms,
    storm_window,
)
from pipeline import metrics, outbox
from pipeline.channels import DeliveryError, Sender, available_senders
from pipeline.db import connect_async
from pipeline.retry import TRANSIENT
from pipeline.topics import NOTIFICATIONS_DLQ
from pipeline.transport import kafka_client_options

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, settings: Settings, senders: dict[Channel, Sender] | None = None) -> None:
        self.settings = settings
        self.senders = senders if senders is not None else available_senders(settings)
        self.policy = RetryPolicy(
            tuple(float(x) for x in settings.notify_retry_delays.split(",") if x.strip())
        )
        self._conn: psycopg.AsyncConnection | None = None
        self._producer: AIOKafkaProducer | None = None
        self._url = settings.resolved_database_url()
        self._digests_after = 0.0

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await connect_async(self._url, autocommit=True)
        return self._conn

    async def run(self, stop: asyncio.Event | None = None) -> None:
        log.info("notifier running with channels: %s", ", ".join(sorted(self.senders)))
        delay = self.settings.notifier_poll_seconds
        while stop is None or not stop.is_set():
            try:
                busy = await self.tick()
                delay = self.settings.notifier_poll_seconds
            except TRANSIENT as exc:
                log.warning("notifier: database unavailable (%s); retrying", exc)
                self._conn = None
                busy = False
                delay = min(delay * 2, 5.0)
            if not busy:
                await asyncio.sleep(delay)
        await self.close()

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        if self._conn is not None:
            await self._conn.close()

    async def tick(self) -> bool:
        """Deliver what is due; True if there was anything."""
        conn = await self._connection()
        claimed = await outbox.claim(conn, 50, self.settings.notifier_lease_seconds)
        for row in claimed:
            await self._deliver(conn, row)
        await self._send_digests(conn)
        return bool(claimed)

    async def _deliver(self, conn: psycopg.AsyncConnection, row: outbox.Claimed) -> None:
        sender = self.senders.get(row.channel)
        address = row.address()
        if sender is None or not address:
            reason = (
                f"channel {row.channel} is off"
                if sender is None
                else f"manager has no {row.channel} address"
            )
            await self._fail(conn, row, reason)
            return
        if row.channel is not Channel.LOG:
            window = storm_window(datetime.now(UTC))
            if (
                await outbox.sent_in_window(conn, row.manager_id, row.channel, window)
                >= self.settings.storm_max_per_window
            ):
                await outbox.hold(conn, row.notification_id, window)
                metrics.NOTIFICATIONS.labels(row.channel.value, "held").inc()
                return
        if row.channel is Channel.EMAIL:
            subject, body = render_email(row.alert)
        else:
            subject, body = "", render_sms(row.alert)
        try:
            provider_id = await sender.send(address, subject, body)
        except DeliveryError as exc:
            delay = None if exc.permanent else self.policy.next_delay(row.attempts, random.random())
            if delay is None:
                await self._fail(conn, row, exc.reason)
            else:
                await outbox.mark_retry(conn, row.notification_id, delay, exc.reason)
                metrics.NOTIFICATIONS.labels(row.channel.value, "retry").inc()
            return
        await outbox.mark_sent(conn, row.notification_id, provider_id)
        metrics.NOTIFICATIONS.labels(row.channel.value, "sent").inc()

    async def _fail(self, conn: psycopg.AsyncConnection, row: outbox.Claimed, reason: str) -> None:
        await self._dead_letter(
            {
                "notification_id": str(row.notification_id),
                "alert_id": row.alert["alert_id"],
                "manager_id": str(row.manager_id),
                "channel": row.channel.value,
                "attempts": row.attempts,
                "reason": reason,
            }
        )
        await outbox.mark_failed(conn, row.notification_id, reason)
        metrics.NOTIFICATIONS.labels(row.channel.value, "failed").inc()
        log.warning("notification %s failed: %s", row.notification_id, reason)

    async def _dead_letter(self, record: dict[str, object]) -> None:
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap(),
                **kafka_client_options(self.settings),
            )
            await self._producer.start()
        await self._producer.send_and_wait(
            NOTIFICATIONS_DLQ.name,
            orjson.dumps(record),
            key=str(record["notification_id"]).encode(),
        )

    async def _send_digests(self, conn: psycopg.AsyncConnection) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._digests_after:
            return
        self._digests_after = (
            now + 1.0
        )  # held rows wait for their window to close: no need to look often
        for digest in await outbox.closed_digests(conn):
            sender = self.senders.get(digest.channel)
            address = digest.phone if digest.channel is Channel.SMS else digest.email
            if sender is None or not address:
                continue
            subject, body = render_digest(digest.channel, digest.alerts)
            try:
                provider_id = await sender.send(address, subject, body)
            except DeliveryError as exc:
                log.warning(
                    "digest for %s via %s not sent yet: %s",
                    digest.manager_id,
                    digest.channel,
                    exc.reason,
                )
                self._digests_after = now + 30.0  # the provider is failing: do not hammer it
                continue
            await outbox.mark_digested(conn, digest.ids, provider_id)
            metrics.NOTIFICATIONS.labels(digest.channel.value, "digest").inc()
