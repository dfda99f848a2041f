"""The alerts agent (alerts → notification outbox), the sender inside the worker by default, and the
alerts' HTTP routes: thin adapters over pipeline.alerts.lifecycle. The middleware has authenticated
the caller and checked the route's roles; a fund manager's view is bounded to the syndicates
assigned to them, and another manager's alert answers 404 as one that does not exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any

import faust
from faust.web import Request, Response, View
from pydantic import Field

from config import Settings
from models.access import Principal, Role
from models.alert_status import (
    MAX_NOTE_LENGTH,
    Action,
    AlertStatus,
    InvalidNote,
    InvalidQuery,
    UnknownAlert,
    Via,
    clean_filter,
    parse_instant,
)
from models.anomaly import InvalidRule
from models.backtest import Overrides
from pipeline.alerts import lifecycle
from pipeline.alerts.backtest import backtest_syndicate
from pipeline.notify.escalation import Escalator
from pipeline.notify.router import AlertRouter
from pipeline.platform.batches import route_batches
from pipeline.platform.db import LazyPool
from pipeline.platform.json_bodies import ApiError, Body, parse_body
from pipeline.security.middleware import principal_of, read_body


class NoteBody(Body):
    note: Annotated[str, Field(max_length=MAX_NOTE_LENGTH)] | None = None


def scope_of(caller: Principal) -> str | None:
    """The manager whose syndicates bound what the caller sees; None: everything (admins)."""
    if caller.role is Role.ADMIN:
        return None
    return caller.manager_id or ""  # no manager has an empty id: sees nothing


def actor_of(caller: Principal) -> str:
    """As an alert's history names who acted: a fund manager by manager id, others by user name."""
    return (
        caller.manager_id
        if caller.role is Role.FUND_MANAGER and caller.manager_id
        else caller.username
    )


class AlertView(View):
    """Errors of the domain and of the request become JSON with their status. ``register`` binds
    ``database`` (the primary), ``reads`` (the replica, for listings) and ``max_body_bytes``."""

    database: LazyPool
    reads: LazyPool
    max_body_bytes: int

    async def answer(
        self, work: Callable[[Any], Awaitable[tuple[int, Any]]], on: LazyPool | None = None
    ) -> Response:
        try:
            pool = await (on or self.database).get()
            async with pool.connection() as conn:
                status, body = await work(conn)
        except ApiError as exc:
            status, body = exc.status, exc.body
        except UnknownAlert as exc:
            status, body = 404, {"error": str(exc)}
        except InvalidNote as exc:
            status, body = 422, {"error": str(exc)}
        except InvalidQuery as exc:  # found once the work runs: a range that ends before it starts
            status, body = 400, {"error": str(exc)}
        return self.json(body, status=status)


class Alerts(AlertView):
    async def get(self, request: Request) -> Response:
        query = request.query
        status = query.get("status") or None
        if status is not None and status not in {s.value for s in AlertStatus}:
            return self.json(
                {"error": "status must be one of open, acknowledged, resolved"}, status=400
            )
        try:
            since = parse_instant(query.get("since") or None)
            syndicate_id = clean_filter("syndicate_id", query.get("syndicate_id") or None)
        except InvalidQuery as exc:
            return self.json({"error": str(exc)}, status=400)
        caller = principal_of(request)

        async def read(conn: Any) -> tuple[int, Any]:
            found = await lifecycle.list_alerts(
                conn,
                syndicate_id=syndicate_id,
                status=None if status is None else AlertStatus(status),
                since=since,
                manager_id=scope_of(caller),
            )
            return 200, found

        return await self.answer(read, self.reads)


class OneAlert(AlertView):
    async def get(self, request: Request, alert_id: str) -> Response:
        caller = principal_of(request)

        async def read(conn: Any) -> tuple[int, Any]:
            return 200, await lifecycle.get_alert(conn, alert_id, scope_of(caller))

        return await self.answer(read)


def _transition_view(action: Action) -> type[AlertView]:
    class TransitionView(AlertView):
        async def post(self, request: Request, alert_id: str) -> Response:
            caller = principal_of(request)
            raw = await read_body(request, self.max_body_bytes)  # 413 from the middleware

            async def change(conn: Any) -> tuple[int, Any]:
                body = parse_body(raw, NoteBody, self.max_body_bytes)
                decision, alert = await lifecycle.act(
                    conn,
                    alert_id,
                    action,
                    actor=actor_of(caller),
                    via=Via.HTTP,
                    note=body.note,
                    manager_id=scope_of(caller),
                )
                return 200, {
                    **alert,
                    "changed": decision.changes,
                    "message": decision.describe(alert["alert_id"]),
                }

            return await self.answer(change)

    TransitionView.__name__ = f"{action.value.title()}View"
    return TransitionView


class SyndicateBacktest(AlertView):
    """The backtest of one syndicate for the console: the alerts the candidate settings raise over
    [from, to) and how they differ from live detection. Runs in a thread: it is CPU work that must
    not hold the worker's event loop. ``register`` binds ``settings``."""

    settings: Settings

    async def get(self, request: Request, syndicate_id: str) -> Response:
        caller = principal_of(request)
        query = request.query
        try:
            syndicate = clean_filter("syndicate_id", syndicate_id) or ""
            start = parse_instant(query.get("from"), "from")
            end = parse_instant(query.get("to"), "to")
            if start is None or end is None:
                raise InvalidQuery("from and to are required (RFC 3339)")
            overrides = Overrides.parse(
                query.get("threshold") or None,
                query.get("spike_multiplier") or None,
                query.get("spike_min_count") or None,
                spike_evidence=query.get("spike_evidence") or None,
            )
        except (InvalidQuery, InvalidRule) as exc:
            return self.json({"error": str(exc)}, status=400)

        async def run(conn: Any) -> tuple[int, Any]:
            if caller.role is not Role.ADMIN and not await lifecycle.runs(
                conn, scope_of(caller), syndicate
            ):
                raise UnknownAlert(f"no syndicate {syndicate}")
            result = await backtest_syndicate(self.settings, syndicate, start, end, overrides)
            return 200, {
                "alerts": result.alerts,
                "summary": result.summary_json(),
                "labels": asdict(result.labels),
            }

        return await self.answer(run)


ROUTES: list[tuple[str, type[AlertView]]] = [
    ("/alerts", Alerts),
    ("/alerts/{alert_id}", OneAlert),
    ("/alerts/{alert_id}/ack", _transition_view(Action.ACKNOWLEDGE)),
    ("/alerts/{alert_id}/resolve", _transition_view(Action.RESOLVE)),
    ("/syndicates/{syndicate_id}/backtest", SyndicateBacktest),
]


def register(
    app: faust.App,
    topic: Any,
    router: AlertRouter,
    notifier_settings: Settings | None,
    settings: Settings,
    database: LazyPool,
    reads: LazyPool,
    max_body_bytes: int,
    escalator: Escalator,
) -> None:
    """``notifier_settings``: run the notification sender in this worker with these settings."""

    route_batches(app, topic, router.handle, "agents.alerts.route_alerts")

    @app.timer(interval=1.0, name="agents.alerts.escalate_open_alerts")
    async def escalate_open_alerts() -> None:
        await escalator.tick()  # never raises

    if notifier_settings is not None:

        @app.task
        async def run_notifier() -> None:
            from pipeline.notify.sender import Notifier

            await Notifier(notifier_settings).run()

    for path, view in ROUTES:
        bound = {
            "database": database,
            "reads": reads,
            "max_body_bytes": max_body_bytes,
            "settings": settings,
        }
        app.page(path)(type(view.__name__, (view,), bound))
