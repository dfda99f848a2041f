"""The audit log in PostgreSQL: appended under a lock so the chain has one order, checked by
``pulse audit verify``. The application's database role may only SELECT and INSERT here."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from models.audit import AuditEntry, next_entry, verify_chain
from pipeline.db import connect, iso

_LOCK = 0x61756469  # advisory lock id: one appender at a time, across workers and the CLI
_COLUMNS = "seq, at, actor, role, action, target, request_id, outcome, detail, prev_hash, hash"
_LAST = f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
_INSERT = f"INSERT INTO audit_log ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(*row)


def _values(e: AuditEntry) -> tuple[Any, ...]:
    return (
        e.seq,
        e.at,
        e.actor,
        e.role,
        e.action,
        e.target,
        e.request_id,
        e.outcome,
        orjson.dumps(e.detail).decode(),
        e.prev_hash,
        e.hash,
    )


async def append(conn: psycopg.AsyncConnection, **fields: Any) -> AuditEntry:
    """Append one entry in its own transaction (``conn`` must not be inside one)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        row = await (await conn.execute(_LAST)).fetchone()
        entry = next_entry(None if row is None else _entry(row), at=datetime.now(UTC), **fields)
        await conn.execute(_INSERT, _values(entry))
    return entry


def append_sync(database_url: str, action: str, target: str, outcome: int, **detail: Any) -> None:
    """An operator's state change made through the CLI."""
    with connect(database_url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        row = conn.execute(_LAST).fetchone()
        entry = next_entry(
            None if row is None else _entry(row),
            at=datetime.now(UTC),
            actor=f"cli:{_os_user()}",
            role="cli",
            action=action,
            target=target,
            request_id=uuid.uuid4().hex,
            outcome=outcome,
            detail=detail,
        )
        conn.execute(_INSERT, _values(entry))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _all(conn: psycopg.Connection) -> Iterator[AuditEntry]:
    with conn.cursor(name="audit_scan") as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq")
        for row in cur:
            yield _entry(row)


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
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT %s", (limit,)
        ).fetchall()
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
        for e in map(_entry, reversed(rows))
    ]
