"""From topic ``alerts`` to the notification outbox: who must hear about each alert, on which channels.

Messages that break the alerts contract, or whose content PostgreSQL refuses, go to ``internal-dlq``;
every other alert of the batch is routed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.batch import DeadLetter, SourceMessage, internal_error
from models.errors import InvalidMessage
from models.messages import decode_alert
from pipeline.notify import escalation, outbox
from pipeline.platform.consuming import isolate, source_of
from pipeline.platform.db import LazyPool
from pipeline.platform.dead_letters import DeadLetterOffice
from pipeline.platform.retry import retry_transient

Routed = tuple[SourceMessage, dict[str, Any]]


class AlertRouter:
    def __init__(
        self, database: LazyPool, dead_letters: DeadLetterOffice, default_escalate_after: int
    ) -> None:
        self._database = database
        self._dead_letters = dead_letters
        self._default_escalate_after = default_escalate_after

    async def handle(self, events: Sequence[Any]) -> int:
        """Enqueue notifications for a batch of alerts; returns how many rows were new."""
        letters: list[DeadLetter] = []
        alerts: list[Routed] = []
        for event in events:
            source = source_of(event)
            try:
                alerts.append((source, decode_alert(source.value)))
            except InvalidMessage as exc:
                letters.append(DeadLetter(source, exc.reason, exc.detail))
        added = await isolate(
            alerts, self._enqueue, lambda item, exc: letters.append(internal_error(item[0], exc))
        )
        await self._dead_letters.send(letters)
        return sum(added)

    async def _enqueue(self, chunk: Sequence[Routed]) -> int:
        async def attempt() -> int:
            pool = await self._database.get()
            async with pool.connection() as conn, conn.transaction():
                added = await outbox.enqueue(conn, [a for _, a in chunk])
                await escalation.start_clocks(
                    conn, [a["alert_id"] for _, a in chunk], self._default_escalate_after
                )
                return added

        return await retry_transient(attempt, None, f"routing {len(chunk)} alerts")
