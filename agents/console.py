"""The console's routes: thin adapters between forms and the same services the API uses.

The middleware has signed the caller in from their session cookie, checked the route's roles
(``models.access.POLICY``) and, for every POST, the origin and the session's CSRF token. What is left
here is the object-level check: another manager's alert, syndicate or pool is a 404 page, exactly as
one that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import faust
import orjson
from aiohttp import web
from faust.web import Request, View

import sql
from agents.alerts import actor_of, scope_of
from config import Settings
from models.access import Principal, Role, Unauthenticated, may_create_pool_for, sees_pool
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
from models.anomaly import InvalidRule
from models.backtest import Overrides
from pipeline.alerts import lifecycle
from pipeline.alerts.backtest import backtest
from pipeline.alerts.rules import RulesCache
from pipeline.alerts.syndicates import SettingsError, SyndicateUpdate, set_syndicate
from pipeline.console import charts, reads, render
from pipeline.ingest.replay import read_dead_letters, replay
from pipeline.notify.managers import list_managers
from pipeline.platform.db import LazyPool
from pipeline.platform.health import consumer_lag
from pipeline.platform.json_bodies import ApiError
from pipeline.pools.api import (
    CapitalCallBody,
    CommitmentBody,
    ContributionBody,
    CreatePoolBody,
    DistributionBody,
    EmptyBody,
    PoolApi,
)
from pipeline.security.auth import Throttled
from pipeline.security.middleware import cookie_values, principal_of, redirect, session_of
from pipeline.security.sessions import LOGIN_COOKIE, SESSION_COOKIE, Sessions

LIVE_POLL_SECONDS = 0.5
LIVE_OVERLAP = timedelta(seconds=5)  # a row committed late with an earlier time is still seen
KEEPALIVE_SECONDS = 15.0
MAX_CATCH_UP = timedelta(minutes=10)
STREAM_SECONDS = 300.0  # then the browser's EventSource reconnects (Last-Event-ID: where it was)
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
HOMES = {
    Role.ADMIN: "/console/admin",
    Role.FUND_MANAGER: "/console/alerts",
    Role.INVESTOR: "/console/me",
    Role.OPS: "/console/ops",
}
COMMANDS: dict[str, tuple[str, type]] = {
    "commitments": ("commit", CommitmentBody),
    "capital-calls": ("capital_call", CapitalCallBody),
    "contributions": ("contribute", ContributionBody),
    "distributions": ("distribute", DistributionBody),
    "close": ("close", EmptyBody),
    "open": ("open", EmptyBody),
}
SETTING_FIELDS = ("threshold", "spike_multiplier", "spike_min_count", "escalate_after")


def safe_next(target: str | None, fallback: str = "/console/") -> str:
    """Only a page of the console: never another site (``//host``) or a header split."""
    if (
        not target
        or not target.startswith("/console/")
        or target.startswith("//")
        or "\\" in target
        or not target.isprintable()
        or len(target) > 1000
    ):
        return fallback
    return target


class ConsolePage(View):
    """``register`` binds the services."""

    sessions: Sessions | None
    database: LazyPool
    pools_api: PoolApi
    settings: Settings

    def page(self, request: Request, template: str, code: int = 200, **context: Any) -> Any:
        """``code``: the HTTP status (``status`` is a page's own word, for alerts)."""
        session = session_of(request)
        return render.html(
            template,
            principal=request.get("principal"),
            csrf_token=session.csrf_token if session else "",
            code=code,
            active=request.path,
            **context,
        )

    def message(self, request: Request, status: int, heading: str, text: str) -> Any:
        return self.page(request, "message.html", status, heading=heading, message=text)

    def not_found(self, request: Request, what: str) -> Any:
        return self.message(request, 404, "Not found", f"There is no {what} here.")

    async def form(self, request: Request) -> Mapping[str, str]:
        posted = await request.post()
        return {k: v for k, v in posted.items() if isinstance(v, str)}

    def secure_cookies(self, request: Request) -> bool:
        return request.secure or self.settings.resolved_public_url().startswith("https://")


# Signing in and out


class Login(ConsolePage):
    async def get(self, request: Request) -> Any:
        if self.sessions is None or await self.sessions.find_any(
            cookie_values(request, SESSION_COOKIE)
        ):
            return redirect("/console/")
        return self._form(request, next_page=request.query.get("next"))

    def _form(
        self,
        request: Request,
        status: int = 200,
        error: str | None = None,
        username: str = "",
        next_page: str | None = None,
    ) -> Any:
        assert self.sessions is not None
        cookie, nonce = self.sessions.login_nonce()
        response = self.page(
            request,
            "login.html",
            status,
            error=error,
            username=username,
            next=safe_next(next_page),
            login_token=nonce,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=3600,
            path="/console/login",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies(request),
        )
        return response

    async def post(self, request: Request) -> Any:
        if self.sessions is None:
            return redirect("/console/")
        form = await self.form(request)
        username = form.get("username", "").strip()
        token = form.get("csrf_token")
        cookie = request.cookies.get(LOGIN_COOKIE)
        # A browser's sign-in comes from our own form (its Origin was checked by the middleware);
        # the form's token proves it is this browser's. A script with no cookie and no token is no
        # browser another site could have driven.
        if (
            token or cookie or "Origin" in request.headers
        ) and not self.sessions.login_nonce_matches(cookie, token):
            return self._form(request, 403, "The form expired. Please sign in again.", username)
        try:
            value, session = await self.sessions.sign_in(
                username, form.get("password", ""), request.remote or ""
            )
        except Throttled as exc:
            response = self._form(request, 429, str(exc), username, form.get("next"))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except Unauthenticated as exc:
            return self._form(request, 401, str(exc), username, form.get("next"))
        home = HOMES[session.principal.role]
        response = redirect(safe_next(form.get("next"), home))
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.sessions.seconds,
            path="/console",
            httponly=True,
            samesite="Strict",
            secure=self.secure_cookies(request),
        )
        response.del_cookie(LOGIN_COOKIE, path="/console/login")
        return response


class Logout(ConsolePage):
    async def post(self, request: Request) -> Any:
        if self.sessions is not None:
            for value in cookie_values(request, SESSION_COOKIE):
                await self.sessions.sign_out(value)
        response = redirect("/console/login")
        response.del_cookie(SESSION_COOKIE, path="/console")
        return response


class Home(ConsolePage):
    async def get(self, request: Request) -> Any:
        return redirect(HOMES[principal_of(request).role])


class Static(ConsolePage):
    async def get(self, request: Request, name: str) -> Any:
        suffix = name[name.rfind(".") :] if "." in name else ""
        folder = resources.files("pipeline.console") / "static"
        if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
            return web.Response(status=404, text="not found")
        try:
            body = (folder / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return web.Response(status=404, text="not found")
        return web.Response(
            body=body,
            content_type=STATIC_TYPES[suffix],
            headers={"Cache-Control": "public, max-age=300"},
        )


# Fund managers: alerts


def alert_filter(query: Mapping[str, str]) -> reads.AlertFilter:
    status = query.get("status") or None
    if status is not None and status not in {s.value for s in AlertStatus}:
        raise InvalidQuery("status must be one of open, acknowledged, resolved")
    return reads.AlertFilter(
        None if status is None else AlertStatus(status),
        clean_filter("syndicate_id", query.get("syndicate_id") or None),
    )


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
        async with (await self.database.get()).connection() as conn:
            found, as_of = await reads.alerts(conn, scope_of(caller), wanted)
            syndicates = await reads.managed_syndicates(conn, scope_of(caller))
        query = filter_query(wanted)
        # The live list starts where this page was read: nothing raised in between is missed.
        live = urlencode({"since": as_of.isoformat()}) if as_of else ""
        live_query = f"{query}&{live}" if query and live else query or live
        return self.page(
            request,
            "alerts.html",
            alerts=found,
            statuses=[s.value for s in AlertStatus],
            status=wanted.status.value if wanted.status else "",
            syndicate_id=wanted.syndicate_id or "",
            syndicates=syndicates,
            live_query=live_query,
            back=f"/console/alerts?{query}" if query else "/console/alerts",
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
        caller = principal_of(request)
        session = session_of(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
                "X-Content-Type-Options": "nosniff",
            }
        )
        await response.prepare(request)
        sent: dict[str, tuple[Any, ...]] = {}
        try:
            # A reconnecting EventSource names the last moment it was sent; a new one, its page's.
            since = parse_instant(
                request.headers.get("Last-Event-ID") or request.query.get("since") or None,
                "since",
            )
        except InvalidQuery:
            since = None
        if since is not None:  # a page left open for long starts again from now
            since = max(since, datetime.now(UTC) - MAX_CATCH_UP)
        quiet = 0.0
        back = filter_query(wanted)
        ends = time.monotonic() + STREAM_SECONDS
        # A stopping worker ends its streams at once (the browser reconnects to another), so a
        # console left open never holds up a shutdown or a rebalance.
        with contextlib.suppress(ConnectionResetError):
            while not self.app.should_stop and time.monotonic() < ends:
                if session is not None and self.sessions is not None:
                    live = await self.sessions.find_any(cookie_values(request, SESSION_COOKIE))
                    if live is None:
                        await response.write(b"event: signed-out\ndata: {}\n\n")
                        break
                async with (await self.database.get()).connection() as conn:
                    if since is None:
                        _, as_of = await reads.alerts(conn, scope_of(caller), wanted, limit=1)
                        since = as_of
                        found: list[dict[str, Any]] = []
                    else:
                        found, as_of = await reads.alerts(
                            conn, scope_of(caller), wanted, changed_since=since - LIVE_OVERLAP
                        )
                        since = as_of or since
                for alert in reversed(found):  # oldest first: the newest ends on top
                    version = (
                        alert["status"],
                        alert["escalation_level"],
                        alert["acknowledged_at"],
                        alert["resolved_at"],
                    )
                    if sent.get(alert["alert_id"]) == version:
                        continue
                    sent[alert["alert_id"]] = version
                    row = render.fragment(
                        "_alert_row.html",
                        alert=alert,
                        csrf_token=session.csrf_token if session else "",
                        back=f"/console/alerts?{back}" if back else "/console/alerts",
                    )
                    payload = orjson.dumps({"id": alert["alert_id"], "html": row})
                    moment = since.isoformat().encode() if since else b""
                    await response.write(
                        b"id: " + moment + b"\nevent: alert\ndata: " + payload + b"\n\n"
                    )
                    quiet = 0.0
                if quiet >= KEEPALIVE_SECONDS:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
                await asyncio.sleep(LIVE_POLL_SECONDS)
                quiet += LIVE_POLL_SECONDS
        return response


class AlertChart(ConsolePage):
    async def get(self, request: Request, alert_id: str) -> Any:
        caller = principal_of(request)
        async with (await self.database.get()).connection() as conn:
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


def _act_view(action: Action) -> type[ConsolePage]:
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


# Fund managers: syndicate settings, previewed by a backtest


class Syndicate(ConsolePage):
    async def _visible(self, request: Request, syndicate_id: str) -> bool:
        caller = principal_of(request)
        try:
            clean_filter("syndicate_id", syndicate_id)
        except InvalidQuery:
            return False
        async with (await self.database.get()).connection() as conn:
            return await lifecycle.runs(conn, scope_of(caller), syndicate_id)

    async def _show(
        self,
        request: Request,
        syndicate_id: str,
        status: int = 200,
        candidate: dict[str, str] | None = None,
        **context: Any,
    ) -> Any:
        async with (await self.database.get()).connection() as conn:
            found = await reads.syndicate(conn, syndicate_id)
        stored = found["settings"]
        defaults = RulesCache(self.settings).defaults
        current = {
            "threshold": stored.get("threshold") or defaults.threshold,
            "spike_multiplier": (stored.get("spike_multiplier") or defaults.spike_multiplier)
            .normalize()
            .to_eng_string(),
            "spike_min_count": stored.get("spike_min_count") or defaults.spike_min_count,
            "escalate_after": self.settings.default_escalate_after
            if stored.get("escalate_after") is None
            else stored["escalate_after"],
        }
        now = datetime.now(UTC).replace(microsecond=0)
        shown = {
            "threshold": str(current["threshold"]),
            "spike_multiplier": str(current["spike_multiplier"]),
            "spike_min_count": str(current["spike_min_count"]),
            "escalate_after": str(current["escalate_after"]),
            "from": (now - timedelta(days=7)).isoformat(),
            "to": now.isoformat(),
            **(candidate or {}),
        }
        context.setdefault("preview", None)
        return self.page(
            request,
            "syndicate.html",
            status,
            syndicate_id=syndicate_id,
            settings={"name": stored.get("name"), **{k: stored.get(k) for k in SETTING_FIELDS}},
            current=current,
            managers=found["managers"],
            candidate=shown,
            notice="Settings saved." if request.query.get("saved") == "1" else None,
            error=context.pop("error", None),
            **context,
        )

    async def get(self, request: Request, syndicate_id: str) -> Any:
        if not await self._visible(request, syndicate_id):
            return self.not_found(request, "such syndicate")
        return await self._show(request, syndicate_id)

    async def post(self, request: Request, syndicate_id: str) -> Any:
        if not await self._visible(request, syndicate_id):
            return self.not_found(request, "such syndicate")
        form = await self.form(request)
        candidate = {k: form.get(k, "").strip() for k in (*SETTING_FIELDS, "from", "to")}
        try:
            overrides = Overrides.parse(
                candidate["threshold"] or None,
                candidate["spike_multiplier"] or None,
                candidate["spike_min_count"] or None,
                label=lambda field: field.replace("_", " "),
            )
            escalate = candidate["escalate_after"] or None
            if escalate is not None and not (
                escalate.isdigit() and int(escalate) <= 30 * 24 * 3600
            ):
                raise InvalidQuery("escalation deadline: whole seconds from 0 to 30 days")
        except (InvalidRule, InvalidQuery) as exc:
            return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
        if form.get("action") == "save":
            update = SyndicateUpdate(
                syndicate_id,
                threshold=candidate["threshold"] or None,
                spike_multiplier=candidate["spike_multiplier"] or None,
                spike_min_count=overrides.spike_min_count,
                escalate_after=None if escalate is None else int(escalate),
            )
            try:
                await asyncio.to_thread(
                    set_syndicate, self.settings.resolved_database_url(), update
                )
            except SettingsError as exc:
                return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
            return redirect(f"{request.path}?saved=1")
        try:
            start = parse_instant(candidate["from"] or None, "backtest from")
            end = parse_instant(candidate["to"] or None, "backtest to")
            if start is None or end is None:
                raise InvalidQuery("the backtest needs a range: from and to")
            result = await asyncio.to_thread(
                backtest,
                self.settings.resolved_database_url(),
                self.settings,
                start,
                end,
                [syndicate_id],
                overrides,
            )
        except InvalidQuery as exc:
            return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
        return await self._show(
            request,
            syndicate_id,
            200,
            candidate,
            preview=result.summary,
            preview_live=sum(d.live for d in result.summary),
            preview_candidate=sum(d.candidate for d in result.summary),
        )


# Fund managers: pools, through the same commands as the API


def command_body(form: Mapping[str, str], fields: tuple[str, ...]) -> bytes:
    return orjson.dumps({k: form[k].strip() for k in fields if form.get(k, "").strip()})


BODY_FIELDS: dict[str, tuple[str, ...]] = {
    "create_pool": ("name", "currency", "target_size", "hard_cap", "manager_id"),
    "commit": ("investor_id", "amount"),
    "capital_call": ("percent", "amount", "due_date"),
    "contribute": ("investor_id", "call_id", "amount"),
    "distribute": ("amount",),
    "close": (),
    "open": (),
}


def error_text(exc: ApiError) -> str:
    """The API's error body in a sentence: its message, and each field it refused."""
    body = exc.body if isinstance(exc.body, dict) else {"error": str(exc.body)}
    text = str(body.get("error", "request refused"))
    if isinstance(body.get("detail"), str):
        text += f": {body['detail']}"
    errors = body.get("errors")
    if isinstance(errors, list):
        named = [f"{e.get('field')}: {e.get('message')}" for e in errors[:5] if isinstance(e, dict)]
        text += ": " + "; ".join(named)
    return text


def refused(status: int, answer: dict[str, Any]) -> None:
    """A command the pool refused (a closed pool, an overpayment) answers as the API would, as an
    error: the same status and message."""
    if status >= 400:
        raise ApiError(status, answer)


class Pools(ConsolePage):
    async def get(self, request: Request) -> Any:
        return await self._show(request)

    async def _show(
        self,
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        caller = principal_of(request)
        async with (await self.pools_api.db()).connection() as conn:
            found = await reads.pools(conn, caller)
        return self.page(
            request,
            "pools.html",
            status,
            pools=found,
            error=error,
            form={k: (form or {}).get(k, "") for k in BODY_FIELDS["create_pool"]},
            idempotency_key=str(uuid.uuid4()),
        )

    async def post(self, request: Request) -> Any:
        caller = principal_of(request)
        form = dict(await self.form(request))
        if caller.role is Role.FUND_MANAGER:
            form["manager_id"] = caller.manager_id or ""

        def check(data: dict[str, Any]) -> None:
            if not may_create_pool_for(caller, data["manager_id"]):
                raise ApiError(403, {"error": "a fund manager creates pools only for themselves"})

        try:
            status, created = await self.pools_api.command(
                "POST",
                "/pools",
                form.get("idempotency_key"),
                command_body(form, BODY_FIELDS["create_pool"]),
                "create_pool",
                None,
                CreatePoolBody,
                caller,
                check,
            )
            refused(status, created)
        except ApiError as exc:
            return await self._show(request, exc.status, error_text(exc), form)
        return redirect(f"/console/pools/{created['id']}")


class PoolPage(ConsolePage):
    """A pool's page and its forms: the pool must be one the caller manages."""

    async def own_pool(self, caller: Principal, pool_id: str) -> dict[str, Any] | None:
        try:
            pool = await self.pools_api.pool(pool_id, caller)
        except ApiError:
            return None
        return pool if sees_pool(caller, pool["manager_ids"]) else None

    async def show(
        self,
        request: Request,
        pool: dict[str, Any],
        status: int = 200,
        error: str | None = None,
    ) -> Any:
        caller = principal_of(request)
        positions = await self.pools_api.positions(pool_id=pool["id"], caller=caller)
        async with (await self.pools_api.db()).connection() as conn:
            detail = await reads.pool_detail(conn, pool["id"])
        notice = {"1": "Recorded."}.get(request.query.get("done", ""))
        return self.page(
            request,
            "pool.html",
            status,
            pool=pool,
            positions=positions,
            error=error,
            notice=notice,
            keys={name: str(uuid.uuid4()) for name in COMMANDS},
            **detail,
        )


class OnePool(PoolPage):
    async def get(self, request: Request, pool_id: str) -> Any:
        pool = await self.own_pool(principal_of(request), pool_id)
        if pool is None:
            return self.not_found(request, "such pool")
        return await self.show(request, pool)


def _command_page(name: str) -> type[ConsolePage]:
    kind, model = COMMANDS[name]

    class CommandPage(PoolPage):
        async def post(self, request: Request, pool_id: str) -> Any:
            caller = principal_of(request)
            pool = await self.own_pool(caller, pool_id)
            if pool is None:
                return self.not_found(request, "such pool")
            form = await self.form(request)
            try:
                refused(
                    *await self.pools_api.command(
                        "POST",
                        f"/pools/{pool_id}/{name}",
                        form.get("idempotency_key"),
                        command_body(form, BODY_FIELDS[kind]),
                        kind,
                        pool_id,
                        model,
                        caller,
                    )
                )
            except ApiError as exc:
                fresh = await self.own_pool(caller, pool_id) or pool
                return await self.show(request, fresh, exc.status, error_text(exc))
            return redirect(f"/console/pools/{pool_id}?done=1")

    CommandPage.__name__ = f"{kind.title().replace('_', '')}Page"
    return CommandPage


# Investors


class Me(ConsolePage):
    async def get(self, request: Request) -> Any:
        caller = principal_of(request)
        investor_id = caller.investor_id or ""
        positions = await self.pools_api.positions(investor_id=investor_id, caller=caller)
        async with (await self.pools_api.db()).connection() as conn:
            own = await reads.investor(conn, investor_id)
        return self.page(request, "me.html", positions=positions, **own)


# Ops and admins


class Operations(ConsolePage):
    async def get(self, request: Request) -> Any:
        async with (await self.database.get()).connection() as conn:
            found = await reads.operations(conn)
        app = self.app
        try:
            lags = sorted(consumer_lag(app).items())
            partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
        except Exception:  # no consumer yet (starting, rebalancing): the page still answers
            lags, partitions = [], []
        worker = {
            "id": f"{socket.gethostname()}:{self.settings.web_port}",
            "messages_s": float(getattr(app.monitor, "messages_s", 0) or 0),
            "partitions": partitions,
        }
        replayed = request.query.get("replayed", "")
        return self.page(
            request,
            "ops.html",
            lags=lags,
            worker=worker,
            can_replay=principal_of(request).role is Role.ADMIN,
            notice=f"Re-published {int(replayed)} dead letters to transactions."
            if replayed.isdigit()
            else None,
            **found,
        )


class ReplayDeadLetters(ConsolePage):
    async def post(self, request: Request) -> Any:
        form = await self.form(request)
        reason = form.get("reason") or None
        bootstrap = self.settings.kafka_bootstrap()
        records = await read_dead_letters(bootstrap, "transactions-dlq")
        values = [
            r["value"] for r in records if r["value"] and (reason is None or r["reason"] == reason)
        ]
        count = await replay(bootstrap, values)
        return redirect(f"/console/ops?replayed={count}")


class Admin(ConsolePage):
    async def get(self, request: Request) -> Any:
        async with (await self.database.get()).connection() as conn:
            found = await reads.administration(conn)
        managers = await asyncio.to_thread(list_managers, self.settings.resolved_database_url())
        return self.page(
            request,
            "admin.html",
            managers=managers,
            top_query=sql.load("ingest/top_investors"),
            **found,
        )


ROUTES: list[tuple[str, type[ConsolePage]]] = [
    ("/console/login", Login),
    ("/console/logout", Logout),
    ("/console", Home),
    ("/console/", Home),
    ("/console/static/{name}", Static),
    ("/console/alerts", Alerts),
    ("/console/alerts/live", LiveAlerts),
    ("/console/alerts/{alert_id}/chart", AlertChart),
    ("/console/alerts/{alert_id}/ack", _act_view(Action.ACKNOWLEDGE)),
    ("/console/alerts/{alert_id}/resolve", _act_view(Action.RESOLVE)),
    ("/console/syndicates/{syndicate_id}", Syndicate),
    ("/console/pools", Pools),
    ("/console/pools/{pool_id}", OnePool),
    *((f"/console/pools/{{pool_id}}/{name}", _command_page(name)) for name in COMMANDS),
    ("/console/me", Me),
    ("/console/ops", Operations),
    ("/console/ops/dead-letters/replay", ReplayDeadLetters),
    ("/console/admin", Admin),
]


def register(
    app: faust.App,
    settings: Settings,
    sessions: Sessions | None,
    database: LazyPool,
    pools_api: PoolApi,
) -> None:
    bound = {
        "sessions": sessions,
        "database": database,
        "pools_api": pools_api,
        "settings": settings,
    }
    for path, view in ROUTES:
        app.page(path)(type(view.__name__, (view,), bound))
