"""A fund manager's alerts: the list, its live stream, the charts, acknowledge and resolve."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web
from faust.web import Request

from agents.alerts import actor_of, scope_of
from agents.console.pages import ConsolePage, safe_next
from models.alert_status import (
    Action,
    AlertStatus,
    InvalidNote,
    InvalidQuery,
    UnknownAlert,
    Via,
    clean_filter,
    parse_instant,
)
from pipeline.alerts import lifecycle
from pipeline.console import charts, reads, render
from pipeline.security.middleware import cookie_values, principal_of, redirect, session_of
from pipeline.security.sessions import SESSION_COOKIE, Session

LIVE_POLL_SECONDS = 0.5
LIVE_OVERLAP = timedelta(seconds=5)  # a row committed late with an earlier time is still seen
KEEPALIVE_SECONDS = 15.0
MAX_CATCH_UP = timedelta(minutes=10)
STREAM_SECONDS = 300.0  # then the browser's EventSource reconnects (Last-Event-ID: where it was)
STREAM_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}
# What, changed, sends a row again.
ROW_VERSION = ("status", "escalation_level", "acknowledged_at", "resolved_at")


def alert_filter(query: Mapping[str, str]) -> reads.AlertFilter:
    status = query.get("status") or None
    if status is not None and status not in {s.value for s in AlertStatus}:
        raise InvalidQuery("status must be one of open, acknowledged, resolved")
    return reads.AlertFilter(
        None if status is None else AlertStatus(status),
        clean_filter("syndicate_id", query.get("syndicate_id") or None),
    )


def list_url(wanted: reads.AlertFilter) -> str:
    """The alerts page with these filters: where acting on a row comes back to."""
    query = filter_query(wanted)
    return f"/console/alerts?{query}" if query else "/console/alerts"


def filter_query(wanted: reads.AlertFilter) -> str:
    return urlencode(
        {
            k: v
            for k, v in (
                ("status", wanted.status.value if wanted.status else ""),
                ("syndicate_id", wanted.syndicate_id or ""),
            )
            if v
        }
    )


class Alerts(ConsolePage):
    async def get(self, request: Request) -> Any:
        try:
            wanted = alert_filter(request.query)
        except InvalidQuery as exc:
            return self.message(request, 400, "Bad filter", str(exc))
        caller = principal_of(request)
        async with (await self.read_pool(request)).connection() as conn:
            found, as_of = await reads.alerts(conn, scope_of(caller), wanted)
            syndicates = await reads.managed_syndicates(conn, scope_of(caller))
        query = filter_query(wanted)
        # The live list starts where this page was read: nothing raised in between is missed.
        live = urlencode({"since": as_of.isoformat()})
        live_query = f"{query}&{live}" if query else live
        return self.page(
            request,
            "alerts.html",
            alerts=found,
            statuses=[s.value for s in AlertStatus],
            status=wanted.status.value if wanted.status else "",
            syndicate_id=wanted.syndicate_id or "",
            syndicates=syndicates,
            live_query=live_query,
            back=list_url(wanted),
            notice=self._notice(request.query),
        )

    @staticmethod
    def _notice(query: Mapping[str, str]) -> str | None:
        """What the last action did, from codes only: nothing a link could put words into."""
        acted, to = query.get("acted", ""), query.get("to", "")
        if not acted or to not in {s.value for s in AlertStatus}:
            return None
        code = acted[:8] if all(c in "0123456789abcdef-" for c in acted) else "?"
        if query.get("changed") == "1":
            return f"Alert {code} {to}."
        return f"Alert {code} is already {to}; nothing changed."


class LiveAlerts(ConsolePage):
    """Server-sent events: each alert raised or acted on since the page was read, as the HTML of
    its row. Ends when the session does (sign-out, disabled user, expiry)."""

    async def get(self, request: Request) -> Any:
        try:
            wanted = alert_filter(request.query)
        except InvalidQuery as exc:
            return web.Response(status=400, text=str(exc))
        caller, session = principal_of(request), session_of(request)
        response = web.StreamResponse(headers=STREAM_HEADERS)
        await response.prepare(request)
        since = stream_start(request)
        sent: dict[str, tuple[Any, ...]] = {}  # each row's version as last sent
        quiet, ends = 0.0, time.monotonic() + STREAM_SECONDS
        # A stopping worker ends its streams at once (the browser reconnects to another), so a
        # console left open never holds up a shutdown or a rebalance.
        with contextlib.suppress(ConnectionResetError):
            while not self.app.should_stop and time.monotonic() < ends:
                if session is not None and not await self.sessions.find_any(
                    cookie_values(request, SESSION_COOKIE)
                ):
                    await response.write(b"event: signed-out\ndata: {}\n\n")
                    break
                async with (await self.read_pool(request)).connection() as conn:
                    if since is None:
                        found, since = [], await reads.now(conn)
                    else:
                        found, since = await reads.alerts(
                            conn, scope_of(caller), wanted, changed_since=since - LIVE_OVERLAP
                        )
                for alert in reversed(found):  # oldest first: the newest ends on top
                    version = tuple(alert[k] for k in ROW_VERSION)
                    if sent.get(alert["alert_id"]) != version:
                        sent[alert["alert_id"]] = version
                        await response.write(alert_event(alert, session, wanted, since))
                        quiet = 0.0
                if quiet >= KEEPALIVE_SECONDS:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
                await asyncio.sleep(LIVE_POLL_SECONDS)
                quiet += LIVE_POLL_SECONDS
        return response


def stream_start(request: Request) -> datetime | None:
    """Where a stream starts: a reconnecting EventSource names the last moment it was sent, a new
    one its page's; None (now) when neither says. A page left open for long starts from now."""
    try:
        since = parse_instant(
            request.headers.get("Last-Event-ID") or request.query.get("since") or None, "since"
        )
    except InvalidQuery:
        return None
    return None if since is None else max(since, datetime.now(UTC) - MAX_CATCH_UP)


def alert_event(
    alert: dict[str, Any], session: Session | None, wanted: reads.AlertFilter, since: datetime
) -> bytes:
    """One alert's row as an event; its id is the moment to resume from."""
    row = render.fragment(
        "_alert_row.html",
        alert=alert,
        csrf_token=session.csrf_token if session else "",
        back=list_url(wanted),
    )
    payload = orjson.dumps({"id": alert["alert_id"], "html": row})
    return b"id: " + since.isoformat().encode() + b"\nevent: alert\ndata: " + payload + b"\n\n"


class AlertChart(ConsolePage):
    async def get(self, request: Request, alert_id: str) -> Any:
        caller = principal_of(request)
        async with (await self.read_pool(request)).connection() as conn:
            try:
                alert = await lifecycle.get_alert(conn, alert_id, scope_of(caller))
            except UnknownAlert:
                return web.Response(status=404, text="no such alert")
            details = alert.get("details") or {}
            if alert["kind"] == "spike":
                counts = await reads.minute_counts(
                    conn, alert["syndicate_id"], datetime.fromisoformat(alert["event_time"])
                )
                svg = charts.spike_chart(
                    counts,
                    Decimal(str(details.get("baseline_per_5min", "0"))) / 5,
                    Decimal(str(details.get("multiplier", "10"))),
                )
            else:
                svg = charts.amount_chart(
                    Decimal(alert["observed"]),
                    Decimal(alert["expected"]),
                    str(details.get("currency", "USD")),
                )
        return web.Response(
            text=svg,
            content_type="image/svg+xml",
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )


def act_view(action: Action) -> type[ConsolePage]:
    class ActView(ConsolePage):
        async def post(self, request: Request, alert_id: str) -> Any:
            caller = principal_of(request)
            form = await self.form(request)
            try:
                async with (await self.database.get()).connection() as conn:
                    decision, alert = await lifecycle.act(
                        conn,
                        alert_id,
                        action,
                        actor=actor_of(caller),
                        via=Via.CONSOLE,
                        note=form.get("note") or None,
                        manager_id=scope_of(caller),
                    )
            except UnknownAlert:
                return self.not_found(request, "such alert")
            except InvalidNote as exc:
                return self.message(request, 422, "Note not saved", str(exc))
            back = safe_next(form.get("back"), "/console/alerts")
            if not back.startswith("/console/alerts"):
                back = "/console/alerts"
            outcome = urlencode(
                {
                    "acted": alert["alert_id"],
                    "to": alert["status"],
                    "changed": "1" if decision.changes else "0",
                }
            )
            return redirect(f"{back}{'&' if '?' in back else '?'}{outcome}")

    ActView.__name__ = f"{action.value.title()}Page"
    return ActView
