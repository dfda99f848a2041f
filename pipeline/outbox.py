"""The notification outbox in PostgreSQL: rows in, claimed with a lease, outcomes recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg

from models.notification import STORM_WINDOW, Channel, notification_id
from pipeline import pii
from pipeline.db import iso


@dataclass(frozen=True)
class Claimed:
    notification_id: UUID
    alert: dict[str, Any]
    manager_id: UUID
    channel: Channel
    attempts: int
    phone: str | None
    email: str | None

    def address(self) -> str | None:
        if self.channel is Channel.SMS:
            return self.phone
        if self.channel is Channel.EMAIL:
            return self.email
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


async def claim(conn: psycopg.AsyncConnection, limit: int, lease_seconds: int) -> list[Claimed]:
    """Take due rows (and rows whose claimer died: lease expired) for this sender."""
    rows = await (
        await conn.execute(
            """
            WITH due AS (
                SELECT notification_id FROM notifications
                WHERE (status = 'pending' AND next_attempt_at <= now())
                   OR (status = 'sending' AND lease_until < now())
                ORDER BY next_attempt_at
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE notifications n
            SET status = 'sending', attempts = n.attempts + 1,
                lease_until = now() + make_interval(secs => %s), updated_at = now()
            FROM due, fund_managers m
            WHERE n.notification_id = due.notification_id AND m.manager_id = n.manager_id
            RETURNING n.notification_id, n.alert, n.manager_id, n.channel, n.attempts, m.phone, m.email
            """,
            (limit, lease_seconds),
        )
    ).fetchall()
    reveal = pii.default().reveal
    return [
        Claimed(r[0], r[1], r[2], Channel(r[3]), r[4], reveal(r[5]), reveal(r[6])) for r in rows
    ]


async def sent_in_window(
    conn: psycopg.AsyncConnection, manager_id: UUID, channel: Channel, window: datetime
) -> int:
    row = await (
        await conn.execute(
            "SELECT count(*) FROM notifications WHERE manager_id = %s AND channel = %s AND status = 'sent'"
            " AND sent_at >= %s AND sent_at < %s",
            (manager_id, channel.value, window, window + STORM_WINDOW),
        )
    ).fetchone()
    return row[0] if row else 0


async def hold(conn: psycopg.AsyncConnection, nid: UUID, window: datetime) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'held', storm_window = %s, attempts = attempts - 1,"
        " lease_until = NULL, updated_at = now() WHERE notification_id = %s",
        (window, nid),
    )


async def mark_sent(conn: psycopg.AsyncConnection, nid: UUID, provider_id: str) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'sent', provider_message_id = %s, sent_at = now(),"
        " lease_until = NULL, last_error = NULL, updated_at = now() WHERE notification_id = %s",
        (provider_id, nid),
    )


async def mark_retry(conn: psycopg.AsyncConnection, nid: UUID, delay: float, error: str) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'pending', next_attempt_at = now() + make_interval(secs => %s),"
        " last_error = %s, lease_until = NULL, updated_at = now() WHERE notification_id = %s",
        (delay, error, nid),
    )


async def mark_failed(conn: psycopg.AsyncConnection, nid: UUID, error: str) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'failed', last_error = %s, lease_until = NULL, updated_at = now()"
        " WHERE notification_id = %s",
        (error, nid),
    )


@dataclass(frozen=True)
class Digest:
    manager_id: UUID
    channel: Channel
    window: datetime
    ids: list[UUID]
    alerts: list[dict[str, Any]]
    phone: str | None
    email: str | None


async def closed_digests(conn: psycopg.AsyncConnection) -> list[Digest]:
    """Held rows of storm windows that have ended, one digest per manager, channel and window."""
    rows = await (
        await conn.execute(
            "SELECT n.manager_id, n.channel, n.storm_window, array_agg(n.notification_id ORDER BY n.created_at),"
            " jsonb_agg(n.alert ORDER BY n.created_at), m.phone, m.email"
            " FROM notifications n JOIN fund_managers m USING (manager_id)"
            " WHERE n.status = 'held' AND n.storm_window + make_interval(mins => 10) <= now()"
            " GROUP BY n.manager_id, n.channel, n.storm_window, m.phone, m.email"
        )
    ).fetchall()
    reveal = pii.default().reveal
    return [
        Digest(r[0], Channel(r[1]), r[2], list(r[3]), list(r[4]), reveal(r[5]), reveal(r[6]))
        for r in rows
    ]


async def mark_digested(conn: psycopg.AsyncConnection, ids: list[UUID], provider_id: str) -> None:
    await conn.execute(
        "UPDATE notifications SET status = 'digested', provider_message_id = %s, sent_at = now(),"
        " updated_at = now() WHERE notification_id = ANY(%s) AND status = 'held'",
        (provider_id, ids),
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
