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
from models.errors import PulseError
from models.notification import (
    Channel,
    RetryPolicy,
    render_digest,
    render_email,
    render_sms,
    storm_window,
)
from pipeline.notify import outbox
from pipeline.notify.channels import (
    PROVIDER_TIMEOUT_SECONDS,
    DeliveryError,
    Sender,
    available_senders,
)
from pipeline.platform import metrics
from pipeline.platform.db import LazyConnection
from pipeline.platform.failures import Failure, classify
from pipeline.platform.logs import redact
from pipeline.platform.retry import TRANSIENT
from pipeline.platform.topics import NOTIFICATIONS_DLQ
from pipeline.platform.transport import kafka_client_options
from pipeline.security import alert_links

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, settings: Settings, senders: dict[Channel, Sender] | None = None) -> None:
        self.settings = settings
        self.senders = senders if senders is not None else available_senders(settings)
        self.policy = RetryPolicy(
            tuple(float(x) for x in settings.notify_retry_delays.split(",") if x.strip())
        )
        self._producer: AIOKafkaProducer | None = None
        self._connection = LazyConnection(settings.resolved_database_url(), autocommit=True)
        self._digests_after = 0.0

    async def run(self, stop: asyncio.Event | None = None) -> None:
        log.info("notifier running with channels: %s", ", ".join(sorted(self.senders)))
        delay = self.settings.notifier_poll_seconds
        while stop is None or not stop.is_set():
            try:
                busy = await self.tick()
                delay = self.settings.notifier_poll_seconds
            except TRANSIENT as exc:
                log.warning("notifier: database unavailable (%s); retrying", exc)
                await self._connection.discard()
                busy = False
                delay = min(delay * 2, 5.0)
            except Exception:
                # It runs inside the worker: crashing would cancel the agents mid-batch.
                log.exception("notifier: unexpected error; going on")
                metrics.CRASH_GUARDED.labels("notifier").inc()
                await self._connection.discard()
                busy = False
                delay = 5.0
            if not busy:
                await asyncio.sleep(delay)
        await self.close()

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        await self._connection.close()

    def claim_size(self) -> int:
        """What can be sent within one lease even if every provider call takes its full timeout."""
        return max(
            1, min(50, int(self.settings.notifier_lease_seconds // PROVIDER_TIMEOUT_SECONDS))
        )

    async def tick(self) -> bool:
        """Deliver what is due; True if there was anything."""
        conn = await self._connection.get()
        claimed = await outbox.claim(conn, self.claim_size(), self.settings.notifier_lease_seconds)
        for row in claimed:
            try:
                await self._deliver(conn, row)
            except Exception as exc:
                if classify(exc) is Failure.TRANSIENT:
                    raise
                # One bad row (an undecryptable address, an alert that cannot be rendered) is
                # set aside with its reason; the others are delivered.
                log.exception("notification %s quarantined", row.notification_id)
                metrics.QUARANTINED.labels("notifier").inc()
                await self._fail(conn, row, f"internal_error: {type(exc).__name__}: {exc}")
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
        if row.channel is Channel.EMAIL:
            subject, body = render_email(row.alert, self._ack_url(row))
        else:
            subject, body = "", render_sms(row.alert)
        lease = self.settings.notifier_lease_seconds
        if row.channel is Channel.LOG:
            verdict = "send" if await outbox.renew(conn, row, lease) else "lost"
        else:
            window = storm_window(datetime.now(UTC))
            verdict = await outbox.reserve(
                conn, row, window, self.settings.storm_max_per_window, lease
            )
        if verdict == "lost":
            log.warning("notification %s: claim lost before sending; not sent", row.notification_id)
            return
        if verdict == "hold":
            metrics.NOTIFICATIONS.labels(row.channel.value, "held").inc()
            return
        try:
            provider_id = await sender.send(address, subject, body)
        except DeliveryError as exc:
            delay = None if exc.permanent else self.policy.next_delay(row.attempts, random.random())
            if delay is None:
                await self._fail(conn, row, exc.reason)
            elif await outbox.mark_retry(conn, row, delay, exc.reason):
                metrics.NOTIFICATIONS.labels(row.channel.value, "retry").inc()
            return
        if await outbox.mark_sent(conn, row, provider_id):
            metrics.NOTIFICATIONS.labels(row.channel.value, "sent").inc()
        else:
            log.warning("notification %s sent, but its claim had expired", row.notification_id)

    def _ack_url(self, row: outbox.Claimed) -> str | None:
        """This recipient's one-click acknowledge link; none when this process cannot sign one
        (RS256 without the private key): the email still goes, without the link."""
        try:
            return alert_links.url(self.settings, row.alert["alert_id"], str(row.manager_id))
        except PulseError:
            return None

    async def _fail(self, conn: psycopg.AsyncConnection, row: outbox.Claimed, reason: str) -> None:
        reason = redact(reason)
        if not await outbox.mark_failed(conn, row, reason):
            return  # no longer ours: whoever holds it decides
        await self._dead_letter(
            {
                "notification_id": str(row.notification_id),
                "alert_id": str(row.alert.get("alert_id")) if isinstance(row.alert, dict) else None,
                "manager_id": str(row.manager_id),
                "channel": row.channel.value,
                "attempts": row.attempts,
                "reason": reason,
            }
        )
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
        # Held rows wait for their window to close: no need to look often.
        self._digests_after = now + 1.0
        for digest in await outbox.claim_digests(conn, self.settings.notifier_lease_seconds):
            try:
                sent = await self._send_digest(conn, digest)
            except Exception as exc:
                if classify(exc) is Failure.TRANSIENT:
                    raise
                log.exception("digest for %s quarantined", digest.manager_id)
                metrics.QUARANTINED.labels("notifier").inc()
                sent = False
            if not sent:
                await outbox.release_digest(conn, digest)
                self._digests_after = now + 30.0  # the provider is failing: do not hammer it

    async def _send_digest(self, conn: psycopg.AsyncConnection, digest: outbox.Digest) -> bool:
        sender = self.senders.get(digest.channel)
        address = digest.address()
        if sender is None or not address:
            return False
        subject, body = render_digest(digest.channel, digest.alerts)
        try:
            provider_id = await sender.send(address, subject, body)
        except DeliveryError as exc:
            log.warning(
                "digest for %s via %s not sent yet: %s",
                digest.manager_id,
                digest.channel,
                redact(exc.reason),
            )
            return False
        await outbox.mark_digested(conn, digest, provider_id)
        metrics.NOTIFICATIONS.labels(digest.channel.value, "digest").inc()
        return True
