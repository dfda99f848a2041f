"""From topic ``alerts`` to the notification outbox: who must hear about each alert, on which channels."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from pipeline import outbox
from pipeline.db import connect_async
from pipeline.ingest import EXIT_INTERNAL_ERROR
from pipeline.retry import retry_transient

log = logging.getLogger(__name__)


class AlertRouter:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await connect_async(self._url, autocommit=True)
        return self._conn

    async def _discard(self) -> None:
        self._conn = None

    async def handle(self, events: Sequence[Any]) -> int:
        """Enqueue notifications for a batch of alerts; never raises (see pipeline.ingest)."""
        try:
            alerts = []
            for event in events:
                try:
                    alert = orjson.loads(event.message.value)
                    alert["alert_id"], alert["syndicate_id"]
                    alerts.append(alert)
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    log.error(
                        "skipping a malformed message on alerts at offset %s", event.message.offset
                    )
            if not alerts:
                return 0

            async def attempt() -> int:
                return await outbox.enqueue(await self._connection(), alerts)

            return await retry_transient(attempt, self._discard, f"routing {len(alerts)} alerts")
        except Exception:
            log.critical("routing alerts failed unexpectedly; stopping hard", exc_info=True)
            os._exit(EXIT_INTERNAL_ERROR)
