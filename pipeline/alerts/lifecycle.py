"""Alerts as fund managers handle them: listed, shown with their history, acknowledged, resolved.

One module for every way in (CLI, HTTP, SMS reply, email link): each passes who acts, how, and the
manager whose syndicates bound what they may see (None: all, for admins and the CLI). An alert a
manager may not see is, to them, an alert that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg

from models.alert_status import Action, AlertStatus, Decision, UnknownAlert, Via, clean_note, decide
from pipeline.platform.db import with_iso
from pipeline.platform.queries import row, rows, run

_TIMES = (
    "window_start",
    "window_end",
    "event_time",
    "detected_at",
    "acknowledged_at",
    "resolved_at",
)


def alert_json(r: dict[str, Any]) -> dict[str, Any]:
    """An alert as the CLI's ``--json`` and the HTTP API show it."""
    return {
        **with_iso(r, *_TIMES),
        "alert_id": str(r["alert_id"]),
        "observed": str(r["observed"]),
        "expected": str(r["expected"]),
        "ratio": None if r["ratio"] is None else str(r["ratio"]),
    }


def parse_alert_id(text: str) -> uuid.UUID:
    """An alert id as given by a user; anything that is not a UUID names no alert."""
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise UnknownAlert(f"no alert {text!r}") from None


async def list_alerts(
    conn: psycopg.AsyncConnection,
    *,
    syndicate_id: str | None = None,
    kind: str | None = None,
    status: AlertStatus | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    manager_id: str | None = None,
) -> list[dict[str, Any]]:
    found = await rows(
        conn,
        "alerts/list",
        syndicate_id=syndicate_id,
        kind=kind,
        status=None if status is None else status.value,
        since=since,
        limit=limit,
        manager_id=manager_id,
    )
    return [alert_json(r) for r in found]


async def get_alert(
    conn: psycopg.AsyncConnection, alert_id: str, manager_id: str | None = None
) -> dict[str, Any]:
    """The alert and its transitions; ``UnknownAlert`` when there is none the caller may see."""
    found = await row(
        conn, "alerts/alert", alert_id=parse_alert_id(alert_id), manager_id=manager_id
    )
    if found is None:
        raise UnknownAlert(f"no alert {alert_id}")
    history = await rows(conn, "alerts/transitions", alert_id=found["alert_id"])
    return {**alert_json(found), "transitions": [with_iso(h, "at") for h in history]}


async def act(
    conn: psycopg.AsyncConnection,
    alert_id: str,
    action: Action,
    *,
    actor: str,
    via: Via,
    note: str | None = None,
    manager_id: str | None = None,
) -> tuple[Decision, dict[str, Any]]:
    """Acknowledge or resolve, in one database transaction with its transition; acting twice
    changes nothing (the decision says so). Returns the decision and the alert as it now is."""
    note = clean_note(note)
    parsed = parse_alert_id(alert_id)
    async with conn.transaction():
        current = await row(conn, "alerts/lock_alert", alert_id=parsed, manager_id=manager_id)
        if current is None:
            raise UnknownAlert(f"no alert {alert_id}")
        decision = decide(AlertStatus(current["status"]), action)
        if decision.after is not None:
            await run(
                conn, "alerts/set_status", alert_id=parsed, status=decision.after.value, actor=actor
            )
            await run(
                conn,
                "alerts/insert_transition",
                transition_id=uuid.uuid4(),
                alert_id=parsed,
                from_status=decision.before.value,
                to_status=decision.after.value,
                actor=actor,
                via=via.value,
                note=note,
            )
    return decision, await get_alert(conn, str(parsed), manager_id)


async def runs(conn: psycopg.AsyncConnection, manager_id: str | None, syndicate_id: str) -> bool:
    """Whether this manager runs the syndicate (None: everyone's, for admins)."""
    if manager_id is None:
        return True
    return (
        await row(conn, "alerts/runs", manager_id=manager_id, syndicate_id=syndicate_id) is not None
    )
