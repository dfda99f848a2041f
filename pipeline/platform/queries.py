"""Running the named statements of ``sql/``: rows come back as dicts keyed by column name.

One way for every store: ``await rows(conn, "pools/pool", pool_id=...)``. Parameters are named
(``%(pool_id)s`` in the file), so a statement and its call read the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

import sql

Row = dict[str, Any]


async def rows(conn: psycopg.AsyncConnection, statement: str, /, **params: Any) -> list[Row]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.load(statement), params)  # type: ignore[arg-type]
        return await cur.fetchall()


async def row(conn: psycopg.AsyncConnection, statement: str, /, **params: Any) -> Row | None:
    found = await rows(conn, statement, **params)
    return found[0] if found else None


async def run(conn: psycopg.AsyncConnection, statement: str, /, **params: Any) -> int:
    """Execute a statement; how many rows it changed."""
    async with conn.cursor() as cur:
        await cur.execute(sql.load(statement), params)  # type: ignore[arg-type]
        return cur.rowcount


async def run_many(
    conn: psycopg.AsyncConnection, statement: str, params: Iterable[Mapping[str, Any]]
) -> None:
    """One statement for many parameter sets, pipelined."""
    batch = list(params)
    if batch:
        async with conn.cursor() as cur:
            await cur.executemany(sql.load(statement), batch)  # type: ignore[arg-type]


def rows_sync(conn: psycopg.Connection, statement: str, /, **params: Any) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.load(statement), params)  # type: ignore[arg-type]
        return cur.fetchall()


def row_sync(conn: psycopg.Connection, statement: str, /, **params: Any) -> Row | None:
    found = rows_sync(conn, statement, **params)
    return found[0] if found else None


def run_sync(conn: psycopg.Connection, statement: str, /, **params: Any) -> int:
    with conn.cursor() as cur:
        cur.execute(sql.load(statement), params)  # type: ignore[arg-type]
        return cur.rowcount
