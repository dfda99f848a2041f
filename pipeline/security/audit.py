"""The audit log in PostgreSQL: appended under a lock so the chain has one order, checked by
``pulse audit verify``. The application's database role may only SELECT and INSERT here."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

import sql
from models.audit import AuditEntry, next_entry, verify_chain
from pipeline.platform.db import connect, iso
from pipeline.platform.queries import row, row_sync, rows_sync, run, run_many, run_sync


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(**row)


def _values(e: AuditEntry) -> dict[str, Any]:
    return {**vars(e), "detail": orjson.dumps(e.detail).decode()}


async def append_many(
    conn: psycopg.AsyncConnection, many: list[dict[str, Any]]
) -> list[AuditEntry]:
    """Append entries in order, in one transaction: one lock and one round of writes for all."""
    async with conn.transaction():
        await run(conn, "security/lock_audit_log")
        last = await row(conn, "security/last_audit_entry")
        previous = None if last is None else _entry(last)
        entries = []
        for fields in many:
            previous = next_entry(previous, at=datetime.now(UTC), **fields)
            entries.append(previous)
        await run_many(conn, "security/append_audit_entry", [_values(e) for e in entries])
    return entries


class AuditWriter:
    """Group commit for the web server: concurrent requests' entries go in one transaction, and
    each request still waits until its own entry is committed before it answers."""

    def __init__(self, connect: Callable[[], Awaitable[AsyncConnectionPool]]) -> None:
        self._connect = connect
        self._pending: list[tuple[dict[str, Any], asyncio.Future[AuditEntry]]] = []
        self._task: asyncio.Task[None] | None = None

    async def append(self, **fields: Any) -> AuditEntry:
        future: asyncio.Future[AuditEntry] = asyncio.get_running_loop().create_future()
        self._pending.append((fields, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="audit-writer")
        return await future

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:500], self._pending[500:]
            try:
                pool = await self._connect()
                async with pool.connection() as conn:
                    entries = await append_many(conn, [fields for fields, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), entry in zip(batch, entries, strict=True):
                if not future.done():
                    future.set_result(entry)


def append_sync(database_url: str, action: str, target: str, outcome: int, **detail: Any) -> None:
    """An operator's state change made through the CLI."""
    with connect(database_url) as conn, conn.transaction():
        run_sync(conn, "security/lock_audit_log")
        last = row_sync(conn, "security/last_audit_entry")
        entry = next_entry(
            None if last is None else _entry(last),
            at=datetime.now(UTC),
            actor=f"cli:{os_user()}",
            role="cli",
            action=action,
            target=target,
            request_id=uuid.uuid4().hex,
            outcome=outcome,
            detail=detail,
        )
        run_sync(conn, "security/append_audit_entry", **_values(entry))


def os_user() -> str:
    """Who runs a CLI command, as the audit log and an alert's history name them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _all(conn: psycopg.Connection) -> Iterator[AuditEntry]:
    # A server-side cursor: the log is read in pieces, however long it has grown.
    with conn.cursor(name="audit_scan", row_factory=dict_row) as cur:
        cur.execute(sql.load("security/audit_log"))
        for found in cur:
            yield _entry(found)


def verify(database_url: str) -> tuple[int, list[str], str | None]:
    """(rows checked, problems, hash of the newest row: record it elsewhere to catch a cut tail)."""
    with connect(database_url) as conn, conn.transaction():
        count, head = 0, None

        def counted() -> Iterator[AuditEntry]:
            nonlocal count, head
            for entry in _all(conn):
                count, head = count + 1, entry.hash
                yield entry

        problems = verify_chain(counted())
    return count, problems, head


def recent(database_url: str, limit: int) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        newest = rows_sync(conn, "security/recent_audit_entries", limit=limit)
    return [
        {
            "seq": e.seq,
            "at": iso(e.at),
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "target": e.target,
            "request_id": e.request_id,
            "outcome": e.outcome,
            "detail": e.detail,
            "hash": e.hash,
        }
        for e in map(_entry, newest)
    ]
