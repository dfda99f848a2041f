"""What the console's pages show, read for one caller: every read is bounded by who asks.

A fund manager's scope is the manager id whose syndicates and pools they see (``None``: an admin, who
sees everything). Pools and positions are also bounded by row-level security (``pools.api.scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from models.access import Principal
from models.alert_status import AlertStatus
from models.notification import describe
from pipeline.alerts.lifecycle import alert_json
from pipeline.platform.queries import row, rows
from pipeline.pools.api import scope

PAGE_SIZE = 100
CHART_MINUTES = 70


@dataclass(frozen=True)
class AlertFilter:
    status: AlertStatus | None = None
    syndicate_id: str | None = None


def shown(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as a row of the page shows it: its JSON, plus why it fired in words."""
    found = alert_json(alert)
    found["syndicate_name"] = alert.get("syndicate_name")
    found["why"] = describe(found, "\u00d7")
    found["last_via"] = alert.get("last_via")
    found["last_note"] = alert.get("last_note")
    return found


async def alerts(
    conn: psycopg.AsyncConnection,
    manager_id: str | None,
    wanted: AlertFilter,
    changed_since: datetime | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, Any]], datetime]:
    """Newest first; with ``changed_since``, those raised or acted on since (whatever their
    status: the live list removes what no longer matches). Returns the rows and the moment they
    were read, to ask from next time."""
    found = await rows(
        conn,
        "console/alerts",
        syndicate_id=wanted.syndicate_id,
        status=None if changed_since is not None or wanted.status is None else wanted.status.value,
        manager_id=manager_id,
        changed_since=changed_since,
        limit=limit,
    )
    return [shown(r) for r in found], found[0]["as_of"] if found else await now(conn)


async def now(conn: psycopg.AsyncConnection) -> datetime:
    """PostgreSQL's clock: the one alerts and their transitions are stamped by."""
    found = await row(conn, "console/now")
    assert found is not None
    return found["now"]


async def minute_counts(
    conn: psycopg.AsyncConnection, syndicate_id: str, end: datetime
) -> list[int]:
    """Transactions per minute over the 70 minutes up to ``end``, oldest first."""
    counts = [0] * CHART_MINUTES
    for r in await rows(conn, "console/minute_counts", syndicate_id=syndicate_id, end=end):
        back = r["minutes_before"]
        if 0 <= back < CHART_MINUTES:
            counts[CHART_MINUTES - 1 - back] = r["n"]
    return counts


async def syndicate(conn: psycopg.AsyncConnection, syndicate_id: str) -> dict[str, Any]:
    """Stored settings (None where the default applies) and the managers by level."""
    found = await row(conn, "alerts/syndicates", syndicate_id=syndicate_id) or {}
    managers = await rows(conn, "console/syndicate_managers", syndicate_id=syndicate_id)
    return {"settings": found, "managers": managers}


async def managed_syndicates(conn: psycopg.AsyncConnection, manager_id: str | None) -> list[str]:
    return [
        r["syndicate_id"]
        for r in await rows(conn, "console/managed_syndicates", manager_id=manager_id)
    ]


async def pools(conn: psycopg.AsyncConnection, caller: Principal) -> list[dict[str, Any]]:
    async with conn.transaction():
        await scope(conn, caller)
        return await rows(conn, "console/pools")


async def pool_detail(conn: psycopg.AsyncConnection, pool_id: str) -> dict[str, Any]:
    """A pool the caller was already found to manage: its calls and its ledger."""
    return {
        "calls": await rows(conn, "console/calls", pool_id=pool_id),
        "ledger": await rows(conn, "console/ledger", pool_id=pool_id),
    }


async def investor(conn: psycopg.AsyncConnection, investor_id: str) -> dict[str, Any]:
    """An investor's own capital calls (due and paid) and distributions received."""
    calls = await rows(conn, "console/investor_calls", investor_id=investor_id)
    distributions = await rows(conn, "console/investor_distributions", investor_id=investor_id)
    return {
        "calls": calls,
        "due": sum((c["due"] for c in calls), Decimal(0)),
        "distributions": distributions,
        # Debits are positive: a distribution's part is a debit of partner_distributions:<investor>.
        "received": sum((d["amount"] for d in distributions), Decimal(0)),
    }


async def operations(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    return {
        "dead_letters": await rows(conn, "console/dead_letters"),
        "notifications": await rows(conn, "console/notification_outcomes"),
        "activity": await row(conn, "console/activity") or {},
    }


async def administration(conn: psycopg.AsyncConnection) -> dict[str, Any]:
    return {
        "users": await rows(conn, "security/list_users"),
        "top_investors": await rows(conn, "ingest/top_investors", limit=5),
    }
