"""The notification outbox in PostgreSQL: rows in, claimed with a lease, outcomes recorded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg

import sql
from models.notification import Channel, notification_id
from pipeline.platform.db import with_iso
from pipeline.platform.logs import redact
from pipeline.platform.queries import rows, run
from pipeline.security import pii


@dataclass(frozen=True)
class Claimed:
    notification_id: UUID
    claim: UUID  # every state change names it: a sender whose lease ran out changes nothing
    alert: dict[str, Any]
    manager_id: UUID
    channel: Channel
    attempts: int
    phone: str | None  # encrypted (pipeline.security.pii): revealed by the sender, row by row
    email: str | None

    def address(self) -> str | None:
        if self.channel is Channel.SMS:
            return pii.default().reveal(self.phone)
        if self.channel is Channel.EMAIL:
            return pii.default().reveal(self.email)
        return str(self.manager_id)


Recipients = list[tuple[UUID, list[str]]]


async def enqueue(conn: psycopg.AsyncConnection, alerts: Sequence[dict[str, Any]]) -> int:
    """One row per (alert, level-1 manager of its syndicate, channel); returns how many were new.
    Higher levels hear of an alert when it escalates (pipeline.notify.escalation)."""
    syndicates = sorted({a["syndicate_id"] for a in alerts})
    managers: dict[str, Recipients] = {}
    for m in await rows(conn, "notify/managers_of_syndicates", syndicate_ids=syndicates, level=1):
        managers.setdefault(m["syndicate_id"], []).append((m["manager_id"], m["channels"]))
    return await insert(
        conn, [(alert, managers.get(alert["syndicate_id"], [])) for alert in alerts], level=1
    )


async def insert(
    conn: psycopg.AsyncConnection, alerts: Sequence[tuple[dict[str, Any], Recipients]], level: int
) -> int:
    """The rows of these alerts for these recipients, on each of their channels and the log; a row
    that exists (a redelivery, an escalation that ran before) is left as it is."""
    values = [
        {
            "notification_id": notification_id(alert["alert_id"], str(manager_id), channel),
            "alert_id": alert["alert_id"],
            "manager_id": manager_id,
            "channel": channel.value,
            "alert": orjson.dumps(alert).decode(),
            "level": level,
        }
        for alert, recipients in alerts
        for manager_id, channels in recipients
        for channel in sorted({*map(Channel, channels), Channel.LOG})
    ]
    if not values:
        return 0
    async with conn.cursor() as cur:
        await cur.executemany(sql.load("notify/enqueue"), values)
        return cur.rowcount


async def claim(conn: psycopg.AsyncConnection, limit: int, lease_seconds: float) -> list[Claimed]:
    """Take due rows (and rows whose claimer died: lease expired) for this sender."""
    claimed = await rows(
        conn, "notify/claim_notifications", limit=limit, lease_seconds=lease_seconds
    )
    return [Claimed(**{**r, "channel": Channel(r["channel"])}) for r in claimed]


def _ours(row: Claimed) -> dict[str, Any]:
    return {"notification_id": row.notification_id, "claim": row.claim}


async def renew(conn: psycopg.AsyncConnection, row: Claimed, lease_seconds: float) -> bool:
    """A full lease from now, if the claim is still ours."""
    return await run(conn, "notify/renew", lease_seconds=lease_seconds, **_ours(row)) == 1


async def reserve(
    conn: psycopg.AsyncConnection, row: Claimed, window: datetime, limit: int, lease_seconds: float
) -> str:
    """Take one of the storm window's ``limit`` slots for this row ('send'), or hold it for the
    digest ('hold'); 'lost' when the claim is no longer ours. Slots are counted and taken under a
    lock per manager and channel, so concurrent senders never exceed the limit together."""
    async with conn.transaction():
        channel = row.channel.value
        await run(conn, "notify/lock_storm_slots", manager_channel=f"{row.manager_id}:{channel}")
        if not await renew(conn, row, lease_seconds):
            return "lost"
        slots = await rows(
            conn,
            "notify/storm_slots_taken",
            manager_id=row.manager_id,
            channel=channel,
            window=window,
        )
        if slots[0]["taken"] >= limit:
            await run(conn, "notify/hold", window=window, **_ours(row))
            return "hold"
        await run(conn, "notify/take_storm_slot", window=window, **_ours(row))
        return "send"


async def mark_sent(conn: psycopg.AsyncConnection, row: Claimed, provider_id: str) -> bool:
    return await run(conn, "notify/mark_sent", provider_id=provider_id, **_ours(row)) == 1


async def mark_retry(conn: psycopg.AsyncConnection, row: Claimed, delay: float, error: str) -> bool:
    updated = await run(conn, "notify/mark_retry", delay=delay, error=redact(error), **_ours(row))
    return updated == 1


async def mark_failed(conn: psycopg.AsyncConnection, row: Claimed, error: str) -> bool:
    return await run(conn, "notify/mark_failed", error=redact(error), **_ours(row)) == 1


@dataclass(frozen=True)
class Digest:
    manager_id: UUID
    channel: Channel
    window: datetime
    claim: UUID
    ids: list[UUID]
    alerts: list[dict[str, Any]]
    phone: str | None  # encrypted, as in Claimed
    email: str | None

    def address(self) -> str | None:
        return pii.default().reveal(self.phone if self.channel is Channel.SMS else self.email)


async def claim_digests(conn: psycopg.AsyncConnection, lease_seconds: float) -> list[Digest]:
    """Held rows of storm windows that have ended (and digests whose sender died), claimed whole:
    one digest per manager, channel and window, sent by one sender."""
    token = uuid.uuid4()
    async with conn.transaction():
        await run(conn, "notify/lock_digests")
        await run(conn, "notify/claim_digests", claim=token, lease_seconds=lease_seconds)
    return [
        Digest(
            manager_id=r["manager_id"],
            channel=Channel(r["channel"]),
            window=r["storm_window"],
            claim=token,
            ids=list(r["ids"]),
            alerts=list(r["alerts"]),
            phone=r["phone"],
            email=r["email"],
        )
        for r in await rows(conn, "notify/claimed_digests", claim=token)
    ]


async def mark_digested(conn: psycopg.AsyncConnection, digest: Digest, provider_id: str) -> None:
    await run(
        conn, "notify/mark_digested", provider_id=provider_id, ids=digest.ids, claim=digest.claim
    )


async def release_digest(conn: psycopg.AsyncConnection, digest: Digest) -> None:
    """Not sent (the provider failed): held again, for a later try."""
    await run(conn, "notify/release_digest", ids=digest.ids, claim=digest.claim)


_LISTED_TIMES = ("created_at", "sent_at", "next_attempt_at")
_LISTED_IDS = ("notification_id", "alert_id", "manager_id")


async def list_notifications(
    conn: psycopg.AsyncConnection, status: str | None, limit: int
) -> list[dict[str, Any]]:
    listed = await rows(conn, "notify/list", status=status, limit=limit)
    return [{**with_iso(r, *_LISTED_TIMES), **{k: str(r[k]) for k in _LISTED_IDS}} for r in listed]
