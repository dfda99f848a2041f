"""Publishing alerts to topic ``alerts``: right after the commit that stored them, and again by a
relay for any the worker stored but did not get to publish (it crashed in between).

Consumers dedupe by ``alert_id``, so publishing twice is harmless; not publishing is not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg

from models.anomaly import Alert, AlertKind
from pipeline.db import connect_async
from pipeline.detection import alert_message
from pipeline.syndicate_rules import RulesCache

log = logging.getLogger(__name__)


class AlertPublisher:
    def __init__(self, database_url: str, topic: Any, rules: RulesCache) -> None:
        self._url = database_url
        self._topic = topic
        self._rules = rules
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await connect_async(self._url, autocommit=True)
        return self._conn

    async def publish(self, alerts: Sequence[Alert]) -> None:
        try:
            await self._publish([(a, None) for a in alerts])
        except Exception:
            log.warning(
                "publishing %d alerts failed; the relay will retry", len(alerts), exc_info=True
            )
            self._conn = None

    async def _publish(self, alerts: Sequence[tuple[Alert, datetime | None]]) -> None:
        futures = []
        for alert, detected_at in alerts:
            message = alert_message(alert, self._rules.name(alert.syndicate_id), detected_at)
            futures.append(
                await self._topic.send(key=alert.syndicate_id.encode(), value=orjson.dumps(message))
            )
        for fut in futures:
            await fut
        conn = await self._connection()
        await conn.execute(
            "UPDATE alerts SET published_at = clock_timestamp() WHERE alert_id = ANY(%s) AND published_at IS NULL",
            ([a.alert_id for a, _ in alerts],),
        )

    async def relay(self, older_than_seconds: float = 5.0, limit: int = 500) -> int:
        """Publish stored alerts nobody published; returns how many."""
        try:
            conn = await self._connection()
            rows = await (
                await conn.execute(
                    "SELECT alert_id, kind, syndicate_id, transaction_id, observed, expected, ratio, event_time,"
                    " window_start, window_end, details, detected_at FROM alerts WHERE published_at IS NULL"
                    " AND detected_at < clock_timestamp() - make_interval(secs => %s)"
                    " ORDER BY detected_at LIMIT %s",
                    (older_than_seconds, limit),
                )
            ).fetchall()
            if rows:
                alerts = [
                    (
                        Alert(
                            r[0],
                            AlertKind(r[1]),
                            r[2],
                            r[3],
                            r[4],
                            r[5],
                            r[6],
                            r[7],
                            r[8],
                            r[9],
                            r[10],
                        ),
                        r[11],
                    )
                    for r in rows
                ]
                await self._publish(alerts)
                log.info("relayed %d unpublished alerts", len(rows))
            return len(rows)
        except Exception:
            log.warning("the alert relay failed; it will try again", exc_info=True)
            self._conn = None
            return 0
