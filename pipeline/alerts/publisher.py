"""The outbox of topic ``alerts``: alerts are stored by the sink's transaction, published right
after it commits, and relayed if the worker crashed in between (pipeline.platform.relay)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from models.anomaly import Alert, alert_from_row, alert_message
from pipeline.alerts.rules import RulesCache
from pipeline.platform.queries import rows, run
from pipeline.platform.relay import Conn, OutboxStore, Outgoing, Relay

RELAY_AFTER_SECONDS = 5.0  # younger unpublished alerts are still being published by their worker


class AlertPublisher(Relay):
    def __init__(self, database_url: str, topic: Any, rules: RulesCache) -> None:
        self._rules = rules
        super().__init__(
            database_url,
            topic,
            OutboxStore(
                name="alerts",
                unpublished=_unpublished,
                to_outgoing=self._outgoing,
                ident_of=lambda r: r["alert_id"],
                mark=_mark,
                quarantine=_quarantine,
            ),
        )

    def _outgoing(self, row: dict[str, Any]) -> Outgoing:
        return self.message(alert_from_row(row), row["detected_at"])

    def message(self, alert: Alert, detected_at: Any = None) -> Outgoing:
        body = alert_message(alert, self._rules.name(alert.syndicate_id), detected_at)
        return Outgoing(alert.alert_id, alert.syndicate_id.encode(), orjson.dumps(body))

    async def hand_over_alerts(self, alerts: Sequence[Alert]) -> Callable[[], Awaitable[None]]:
        return await self.hand_over([self.message(a) for a in alerts])


async def _unpublished(conn: Conn, limit: int) -> list[Any]:
    return await rows(
        conn, "alerts/unpublished_alerts", relay_after=RELAY_AFTER_SECONDS, limit=limit
    )


async def _mark(conn: Conn, ids: list[Any]) -> None:
    await run(conn, "alerts/mark_alerts_published", alert_ids=ids)


async def _quarantine(conn: Conn, row: dict[str, Any], reason: str) -> None:
    await run(conn, "alerts/quarantine_alert", reason=reason, alert_id=row["alert_id"])
