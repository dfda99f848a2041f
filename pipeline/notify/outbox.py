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
from pipeline.platform.db import iso
from pipeline.platform.logs import redact
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


async def enqueue(conn: psycopg.AsyncConnection, alerts: Sequence[dict[str, Any]]) -> int:
    """One row per (alert, manager of its syndicate, channel); returns how many were new."""
    syndicates = sorted({a["syndicate_id"] for a in alerts})
    rows = await (
        await conn.execute(
            "SELECT sm.syndicate_id, m.manager_id, m.channels FROM syndicate_managers sm"
            " JOIN fund_managers m USING (manager_id) WHERE sm.syndicate_id = ANY(%s)",
            (syndicates,),
        )
    ).fetchall()
    managers: dict[str, list[tuple[UUID, list[str]]]] = {}
    for syndicate_id, manager_id, channels in rows:
        managers.setdefault(syndicate_id, []).append((manager_id, channels))
    values = []
    for alert in alerts:
        for manager_id, channels in managers.get(alert["syndicate_id"], []):
            for channel in sorted({*map(Channel, channels), Channel.LOG}):
                nid = notification_id(alert["alert_id"], str(manager_id), channel)
                values.append(
                    (
                        nid,
                        alert["alert_id"],
                        manager_id,
                        channel.value,
                        orjson.dumps(alert).decode(),
                    )
                )
    if not values:
        return 0
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO notifications (notification_id, alert_id, manager_id, channel, alert)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (alert_id, manager_id, channel) DO NOTHING",
            values,
        )
        return cur.rowcount


async def claim(conn: psycopg.AsyncConnection, limit: int, lease_seconds: float) -> list[Claimed]:
    """Take due rows (and rows whose claimer died: lease expired) for this sender."""
    rows = await (
        await conn.execute(sql.load("claim_notifications"), (limit, lease_seconds))
    ).fetchall()
    return [Claimed(r[0], r[1], r[2], r[3], Channel(r[4]), r[5], r[6], r[7]) for r in rows]


async def renew(conn: psycopg.AsyncConnection, row: Claimed, lease_seconds: float) -> bool:
    """A full lease from now, if the claim is still ours."""
    cur = await conn.execute(
        "UPDATE notifications SET lease_until = now() + make_interval(secs => %s)"
        " WHERE notification_id = %s AND claim_token = %s AND status = 'sending'",
        (lease_seconds, row.notification_id, row.claim),
    )
    return cur.rowcount == 1


async def reserve(
    conn: psycopg.AsyncConnection, row: Claimed, window: datetime, limit: int, lease_seconds: float
) -> str:
    """Take one of the storm window's ``limit`` slots for this row ('send'), or hold it for the
    digest ('hold'); 'lost' when the claim is no longer ours. Slots are counted and taken under a
    lock per manager and channel, so concurrent senders never exceed the limit together."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('pulse.storm'), hashtext(%s))",
            (f"{row.manager_id}:{row.channel.value}",),
        )
        if not await renew(conn, row, lease_seconds):
            return "lost"
        taken = await (
            await conn.execute(
                "SELECT count(*) FROM notifications WHERE manager_id = %s AND channel = %s"
                " AND storm_window = %s AND status IN ('sending', 'sent')",
                (row.manager_id, row.channel.value, window),
            )
        ).fetchone()
        if taken is not None and taken[0] >= limit:
            await conn.execute(
                "UPDATE notifications SET status = 'held', storm_window = %s, attempts = attempts - 1,"
                " lease_until = NULL, claim_token = NULL, updated_at = now()"
                " WHERE notification_id = %s AND claim_token = %s",
                (window, row.notification_id, row.claim),
            )
            return "hold"
        await conn.execute(
            "UPDATE notifications SET storm_window = %s WHERE notification_id = %s AND claim_token = %s",
            (window, row.notification_id, row.claim),
        )
        return "send"


async def _settle(
    conn: psycopg.AsyncConnection, row: Claimed, assignments: str, params: tuple[Any, ...]
) -> bool:
    cur = await conn.execute(
        f"UPDATE notifications SET {assignments}, lease_until = NULL, claim_token = NULL,"
        " updated_at = now() WHERE notification_id = %s AND claim_token = %s AND status = 'sending'",
        (*params, row.notification_id, row.claim),
    )
    return cur.rowcount == 1


async def mark_sent(conn: psycopg.AsyncConnection, row: Claimed, provider_id: str) -> bool:
    return await _settle(
        conn,
        row,
        "status = 'sent', provider_message_id = %s, sent_at = now(), last_error = NULL",
        (provider_id,),
    )


async def mark_retry(conn: psycopg.AsyncConnection, row: Claimed, delay: float, error: str) -> bool:
    # The storm slot is given back: the message was not sent.
    return await _settle(
        conn,
        row,
        "status = 'pending', next_attempt_at = now() + make_interval(secs => %s),"
        " last_error = %s, storm_window = NULL",
        (delay, redact(error)),
    )


async def mark_failed(conn: psycopg.AsyncConnection, row: Claimed, error: str) -> bool:
    return await _settle(
        conn, row, "status = 'failed', last_error = %s, storm_window = NULL", (redact(error),)
    )


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
    claim = uuid.uuid4()
    async with conn.transaction():
        # One claimer at a time: SKIP LOCKED could split one digest between two senders.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pulse.digests'))")
        await conn.execute(sql.load("claim_digests"), (claim, lease_seconds))
    rows = await (await conn.execute(sql.load("claimed_digests"), (claim,))).fetchall()
    return [
        Digest(r[0], Channel(r[1]), r[2], claim, list(r[3]), list(r[4]), r[5], r[6]) for r in rows
    ]


async def mark_digested(conn: psycopg.AsyncConnection, digest: Digest, provider_id: str) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'digested', provider_message_id = %s, sent_at = now(),"
        " lease_until = NULL, claim_token = NULL, updated_at = now()"
        " WHERE notification_id = ANY(%s) AND claim_token = %s AND status = 'digesting'",
        (provider_id, digest.ids, digest.claim),
    )


async def release_digest(conn: psycopg.AsyncConnection, digest: Digest) -> None:
    """Not sent (the provider failed): held again, for a later try."""
    await conn.execute(
        "UPDATE notifications SET status = 'held', lease_until = NULL, claim_token = NULL,"
        " updated_at = now() WHERE notification_id = ANY(%s) AND claim_token = %s"
        " AND status = 'digesting'",
        (digest.ids, digest.claim),
    )


async def list_notifications(
    conn: psycopg.AsyncConnection, status: str | None, limit: int
) -> list[dict[str, Any]]:
    where = "WHERE n.status = %s" if status else ""
    params: tuple[Any, ...] = (status, limit) if status else (limit,)
    rows = await (
        await conn.execute(
            "SELECT n.notification_id, n.alert_id, n.manager_id, n.channel, n.status, n.attempts,"
            " n.provider_message_id, n.last_error, n.created_at, n.sent_at, n.next_attempt_at, n.alert->>'kind',"
            f" n.alert->>'syndicate_id' FROM notifications n {where} ORDER BY n.created_at, n.notification_id LIMIT %s",
            params,
        )
    ).fetchall()

    return [
        {
            "notification_id": str(r[0]),
            "alert_id": str(r[1]),
            "manager_id": str(r[2]),
            "channel": r[3],
            "status": r[4],
            "attempts": r[5],
            "provider_message_id": r[6],
            "last_error": r[7],
            "created_at": iso(r[8]),
            "sent_at": iso(r[9]),
            "next_attempt_at": iso(r[10]),
            "kind": r[11],
            "syndicate_id": r[12],
        }
        for r in rows
    ]
