"""Escalation: an alert still open at its deadline is told to the next level of its syndicate's
managers, through the notification outbox like any other (storm control, retries, digests).

Deadlines are stored with the alerts, not slept on: any worker's timer finds the due ones, locks
them (``SKIP LOCKED``: two workers never take the same alert), notifies the next level and moves the
deadline in one transaction. A worker killed in between leaves the deadline where it was, and the
next tick, here or elsewhere, does it; a notified level has its rows, so it is never told twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from models.alert_status import escalate
from models.anomaly import alert_from_row, alert_message
from pipeline.notify import outbox
from pipeline.platform.db import LazyPool
from pipeline.platform.queries import rows, run

log = logging.getLogger(__name__)
BATCH = 100


async def start_clocks(
    conn: psycopg.AsyncConnection, alert_ids: Sequence[str], default_after: int
) -> None:
    """The first deadline of alerts just routed to their level-1 managers."""
    ids = []
    for alert_id in alert_ids:
        try:
            ids.append(UUID(str(alert_id)))
        except ValueError:
            continue  # not one of ours: routed already refused or set it aside
    if ids:
        await run(conn, "alerts/start_escalation", alert_ids=ids, default_after=default_after)


class Escalator:
    def __init__(self, database: LazyPool, default_after: int) -> None:
        self._database = database
        self._default_after = default_after

    async def tick(self) -> int:
        """Escalate every alert due now; returns how many moved. Never raises: the next tick
        tries again."""
        moved = 0
        try:
            while True:
                done = await self._escalate_batch()
                moved += done
                if done < BATCH:
                    return moved
        except Exception:
            log.warning("escalating due alerts failed; trying again shortly", exc_info=True)
            return moved

    async def _escalate_batch(self) -> int:
        pool = await self._database.get()
        async with pool.connection() as conn, conn.transaction():
            due = await rows(
                conn, "alerts/due_escalations", default_after=self._default_after, limit=BATCH
            )
            if not due:
                return 0
            above: dict[str, list[dict[str, Any]]] = {}
            for m in await rows(
                conn,
                "notify/managers_above",
                syndicate_ids=sorted({d["syndicate_id"] for d in due}),
            ):
                above.setdefault(m["syndicate_id"], []).append(m)
            for d in due:
                managers = above.get(d["syndicate_id"], [])
                step = escalate(
                    d["escalation_level"],
                    (m["level"] for m in managers),
                    d["escalate_at"],
                    d["escalate_after"],
                )
                if step.level is not None:
                    recipients = [
                        (m["manager_id"], m["channels"])
                        for m in managers
                        if m["level"] == step.level
                    ]
                    await outbox.insert(
                        conn, [(_escalated(d, step.level), recipients)], level=step.level
                    )
                    log.info("alert %s escalated to level %d", d["alert_id"], step.level)
                await run(
                    conn,
                    "alerts/set_escalation",
                    alert_id=d["alert_id"],
                    level=step.level or d["escalation_level"],
                    escalate_at=step.next_deadline,
                )
            return len(due)


def _escalated(row: dict[str, Any], level: int) -> dict[str, Any]:
    """The alert as its notifications carry it, saying it escalates and since when it is open."""
    detected_at: datetime = row["detected_at"]
    message = alert_message(alert_from_row(row), row["syndicate_name"], detected_at)
    return {**message, "escalation": {"level": level, "open_since": detected_at.isoformat()}}
