"""Database plumbing: URLs, connections and migrations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
from alembic import command
from alembic.config import Config
from psycopg_pool import AsyncConnectionPool

import sql
from models.errors import PulseError

MIGRATIONS = Path(__file__).parent / "migrations"


def iso(moment: datetime | None) -> str | None:
    """A timestamp for JSON output."""
    return None if moment is None else moment.isoformat()


def with_iso(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    """``row`` with these timestamp columns made JSON-ready, in place of the originals."""
    return {**row, **{c: iso(row[c]) for c in columns}}


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy, always through psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url}")


def libpq_url(url: str) -> str:
    """The same database for psycopg (libpq knows no '+driver' suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; idempotent."""
    command.upgrade(alembic_config(url), revision)


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(libpq_url(url), **kwargs)  # type: ignore[arg-type]


class LazyPool:
    """An async connection pool opened on first use, inside the running loop, exactly once however
    many requests arrive together. The URL is resolved then too, not when the module is imported."""

    def __init__(self, url: Callable[[], str], max_size: int) -> None:
        self._url = url
        self._max_size = max_size
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> AsyncConnectionPool:
        if self._pool is not None:  # the hot path: no lock once open
            return self._pool
        async with self._opening:
            if self._pool is None:
                pool = AsyncConnectionPool(
                    libpq_url(self._url()), min_size=1, max_size=self._max_size, open=False
                )
                await pool.open()
                self._pool = pool
        return self._pool


async def connect_async(url: str, **kwargs: object) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(libpq_url(url), **kwargs)  # type: ignore[arg-type]


class LazyConnection:
    """One long-lived async connection for a service that works in batches: opened on first use,
    opened again after it closed or broke, and dropped by ``discard`` after a failure so the next
    attempt starts clean. ``on_open`` prepares a new connection (session state, temp tables)."""

    def __init__(
        self,
        url: str,
        *,
        autocommit: bool,
        on_open: Callable[[psycopg.AsyncConnection], Awaitable[None]] | None = None,
    ) -> None:
        self._url = url
        self._autocommit = autocommit
        self._on_open = on_open
        self._conn: psycopg.AsyncConnection | None = None

    async def get(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = None
            conn = await connect_async(self._url, autocommit=self._autocommit)
            if self._on_open is not None:
                await self._on_open(conn)
            self._conn = conn
        return self._conn

    async def discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        await self.discard()


def grant_app_role(owner_url: str, role: str) -> None:
    """Privileges of the application's role: read and write rows, never change the schema; the
    audit log only SELECT and INSERT, so the application cannot rewrite its own history."""
    ident = psycopg.sql.Identifier(role)
    with connect(owner_url, autocommit=True) as conn:
        if not conn.execute(sql.load("platform/role_exists"), {"role": role}).fetchone():
            raise PulseError(f"no database role {role}: CREATE ROLE {role} LOGIN first")
        statements = [
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA public TO {r}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
            "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {r}",
            "REVOKE ALL ON alembic_version FROM {r}",
            "GRANT SELECT ON alembic_version TO {r}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        ]
        with conn.transaction():
            for statement in statements:
                conn.execute(psycopg.sql.SQL(statement).format(r=ident))
