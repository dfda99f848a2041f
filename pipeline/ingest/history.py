"""The history of transactions, partitioned by month: partitions made ahead of time, listed, and old
months detached for archiving (their sums stay in the aggregates; see migration 0013)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import psycopg
import psycopg.sql
from psycopg.rows import dict_row

import sql
from models.errors import PulseError
from pipeline.platform import metrics
from pipeline.platform.db import connect, connect_async
from pipeline.platform.queries import Row, rows, rows_sync

log = logging.getLogger(__name__)


async def ensure_partitions(conn: psycopg.AsyncConnection, months_ahead: int) -> list[str]:
    """Make this month's partition and the next ``months_ahead``; the names of those made now."""
    found = await rows(
        conn, "history/ensure_partitions", first_month=None, months_ahead=months_ahead
    )
    made = [r["made"] for r in found]
    if made:
        log.info("made partitions of transactions: %s", ", ".join(made))
    return made


def ensure_partitions_sync(
    conn: psycopg.Connection, months_ahead: int, first_month: date | None = None
) -> list[str]:
    """As ``ensure_partitions``, from ``first_month`` if given (a backfill of older months)."""
    made = rows_sync(
        conn, "history/ensure_partitions", first_month=first_month, months_ahead=months_ahead
    )
    return [r["made"] for r in made]


def partitions(url: str) -> list[Row]:
    """Each partition with its bounds, size and exact row count."""
    with connect(url) as conn:
        found = rows_sync(conn, "history/partitions")
        for p in found:
            ident = psycopg.sql.Identifier(p["partition"])
            counted = conn.execute(_composed("history/partition_rows", ident)).fetchone()
            p["row_count"] = counted[0] if counted else 0
    return found


def archives(url: str) -> list[Row]:
    with connect(url) as conn:
        return rows_sync(conn, "history/archives")


def parse_month(text: str) -> date:
    """'2026-03' → the first of March 2026."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise PulseError(f"{text!r} is not a month: write it as YYYY-MM") from None


def detach_before(owner_url: str, before: date) -> list[Row]:
    """Detach every monthly partition wholly before ``before``, in one database transaction: each
    month's sums go to the archive as it leaves, so the aggregates still agree with history."""
    detached: list[Row] = []
    with connect(owner_url) as conn, conn.transaction():
        for found in rows_sync(conn, "history/detachable", before=before):
            detached.append(_detach(conn, found["partition"], found["month"]))
    return detached


def _detach(conn: psycopg.Connection, partition: str, month: date) -> Row:
    ident = psycopg.sql.Identifier(partition)
    conn.execute(_composed("history/detach_partition", ident))
    with conn.cursor(row_factory=dict_row) as cur:
        params: dict[str, Any] = {"partition": partition, "month": month}
        cur.execute(_composed("history/archive_partition", ident), params)
        archived = cur.fetchone()
    assert archived is not None
    log.info("detached %s (%s rows) for archiving", partition, archived["row_count"])
    return archived


def _composed(statement: str, partition: psycopg.sql.Identifier) -> psycopg.sql.Composed:
    return psycopg.sql.SQL(sql.load(statement)).format(partition=partition)  # type: ignore[arg-type]


class PartitionKeeper:
    """Each worker makes the coming months' partitions, at start and every hour after: any worker
    may, since making one that another just made is a no-op."""

    def __init__(self, database_url: str, months_ahead: int) -> None:
        self._database_url = database_url
        self._months_ahead = months_ahead

    async def keep(self) -> list[str]:
        try:
            async with await connect_async(self._database_url, autocommit=True) as conn:
                return await ensure_partitions(conn, self._months_ahead)
        except Exception:
            # Beside the agents: crashing would cancel them. Rows of a month with no partition yet
            # land in the default partition meanwhile, and move out when it is made.
            log.warning("making partitions of transactions failed; retrying later", exc_info=True)
            metrics.CRASH_GUARDED.labels("partitions").inc()
            return []
