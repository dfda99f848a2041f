"""The web server's front door: one aiohttp middleware in front of every route, Faust's own included.

In order: a request id; the body-size limit; who the caller is (token or API key); whether their role
may use the route (``models.access.POLICY``: default deny); the handler; security headers; one log
line; and, for every state-changing request, whatever its outcome, an audit log entry.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import ipaddress
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

import psycopg
from aiohttp import web
from psycopg_pool import PoolTimeout

from config import Settings
from models.access import LOCAL, Forbidden, Principal, Unauthenticated, authorize, is_public
from models.errors import PulseError
from pipeline.platform.db import LazyPool
from pipeline.security import audit
from pipeline.security.auth import Authenticator, Throttled
from pipeline.security.sessions import SESSION_COOKIE, Session, Sessions

log = logging.getLogger("pulse.api")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InsecureBind(PulseError):
    """Auth is off but the web server would listen beyond this machine."""


def check_bind(settings: Settings) -> None:
    if settings.auth_enabled:
        return
    bind = settings.web_bind
    loopback = bind == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(bind).is_loopback
    if not loopback:
        raise InsecureBind(
            f"PULSE_AUTH_ENABLED=false needs a loopback PULSE_WEB_BIND, not {bind!r}"
        )


def request_id(request: web.Request) -> str:
    """The caller's X-Request-Id when it is sane, else a new one; echoed back and logged."""
    given = request.headers.get("X-Request-Id", "")
    ok = 0 < len(given) <= 64 and given.isprintable() and " " not in given
    return given if ok else uuid.uuid4().hex


def route_of(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return None if resource is None else resource.canonical


def is_console(path: str) -> bool:
    """The console's pages: signed in by a session cookie, answered in HTML."""
    return path == "/console" or path.startswith("/console/")


def session_of(request: web.Request) -> Session | None:
    """The console session of the request; None when nobody signed in (auth off)."""
    return request.get("console_session")


def cookie_values(request: web.Request, name: str) -> list[str]:
    """Every value the browser sent for a cookie, at most a few: another page may have planted one
    of the same name on a longer path, which the browser sends first; it must not shadow ours."""
    values = []
    for header in request.headers.getall("Cookie", []):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name and value:
                values.append(value.strip('"'))
    return values[:4]


def same_origin(request: web.Request, public_url: str | None = None) -> bool:
    """A browser names the page a form was posted from; another site's page is refused. Our own
    pages are this server as the request reached it, or ``PULSE_PUBLIC_URL`` (behind a proxy that
    ends TLS, the browser's origin is the public one). Clients that send no Origin (scripts, not
    browsers) cannot be made to post by another site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = {f"{request.scheme}://{request.host}"}
    if public_url:
        parts = urlsplit(public_url)
        ours.add(f"{parts.scheme}://{parts.netloc}")
    return origin in ours


def principal_of(request: web.Request) -> Principal:
    """The authenticated caller, for object-level checks in handlers."""
    return request["principal"]


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes even when no Content-Length was sent."""
    chunks, total = [], 0
    while chunk := await request.content.read(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class TooLarge(PulseError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")


class WebSecurity:
    def __init__(self, settings: Settings) -> None:
        check_bind(settings)
        self.settings = settings
        self.authenticator = Authenticator(settings) if settings.auth_enabled else None
        database = LazyPool(settings.resolved_database_url, max_size=2)
        # Console sign-in works with auth off too: a signed-in user is who they are, anyone else
        # the local admin.
        self.sessions = Sessions(settings, LazyPool(settings.resolved_database_url, max_size=4))
        self._audit_log = audit.AuditWriter(database.get)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request_id(request)
        request["request_id"] = rid
        started = time.perf_counter()
        route = route_of(request)
        console = is_console(request.path)
        principal: Principal | None = None
        try:
            if (request.content_length or 0) > self.settings.max_body_bytes:
                raise TooLarge(self.settings.max_body_bytes)
            if self.authenticator is None and not console:
                principal = LOCAL
            elif is_public(request.method, route):
                principal = LOCAL if self.authenticator is None else None
            else:
                principal = await self._caller(request, console)
                if route is not None:  # no such route: the router answers 404 / 405
                    authorize(principal, request.method, route)
            request["principal"] = principal
            if console and request.method not in SAFE_METHODS:
                await _check_form(request, session_of(request), self.settings.public_url)
            response = await handler(request)
        except Unauthenticated as exc:
            if console:
                response = _console_sign_in(request, str(exc))
            else:
                response = _error(401, str(exc), {"WWW-Authenticate": 'Bearer realm="pulse"'})
        except Forbidden as exc:
            response = _error(403, str(exc), html_page=console)
        except TooLarge as exc:
            response = _error(413, str(exc), html_page=console)
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason, html_page=console)
        except Throttled as exc:
            response = _error(
                429, str(exc), {"Retry-After": str(exc.retry_after)}, html_page=console
            )
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("request %s: PostgreSQL unavailable", rid, exc_info=True)
            response = _error(503, "the database is unavailable; retry shortly", html_page=console)
        except Exception:
            # Answered and audited like any other outcome: a failed change is still a request.
            log.exception("request %s failed", rid)
            response = _error(500, f"internal error; request id {rid}", html_page=console)
        if response.prepared:  # a stream (the console's live list) sent its headers itself
            return response
        response.headers["X-Request-Id"] = rid
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        who = principal.username if principal else "-"
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "request %s %s %s %s -> %d in %.1f ms",
            rid,
            who,
            request.method,
            request.path,
            response.status,
            elapsed,
        )
        if request.method not in SAFE_METHODS:
            await self._audit(request, principal, route, response.status)
        return response

    async def _caller(self, request: web.Request, console: bool) -> Principal:
        """Who asks: the console by its session cookie (with auth off, anyone not signed in is
        the local admin), the API by bearer token or API key."""
        if console:
            session = await self.sessions.find_any(cookie_values(request, SESSION_COOKIE))
            if session is not None:
                request["console_session"] = session
                return session.principal
            if self.authenticator is None:
                return LOCAL
            raise Unauthenticated("sign in to continue")
        assert self.authenticator is not None  # auth off never asks for API credentials
        return await self.authenticator.authenticate(
            request.headers.get("Authorization"),
            request.headers.get("X-API-Key"),
            request.remote or "",
        )

    async def _audit(
        self, request: web.Request, principal: Principal | None, route: str | None, status: int
    ) -> None:
        detail = {"route": route or ""}
        if key := request.headers.get("Idempotency-Key"):
            detail["idempotency_key"] = key[:200]
        try:
            await self._audit_log.append(
                actor=principal.username if principal else "anonymous",
                role=principal.role.value if principal else "",
                action=request.method,
                target=request.path[:500],
                request_id=request["request_id"],
                outcome=status,
                detail=detail,
            )
        except Exception:
            # The change (if any) is made; a missing audit row is an alarm, not a reason to lie
            # to the caller about its outcome.
            log.exception("AUDIT WRITE FAILED for request %s", request["request_id"])


async def _check_form(
    request: web.Request, session: Session | None, public_url: str | None
) -> None:
    """Every state-changing console request comes from a console page: same origin, and (once
    signed in) the session's CSRF token in the form or the X-CSRF-Token header."""
    if not same_origin(request, public_url):
        raise Forbidden("this form was posted from another site")
    if session is None:
        return  # sign-in checks its own token; with auth off there is no session
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        given = (await request.post()).get("csrf_token")
    if not isinstance(given, str) or not hmac.compare_digest(given, session.csrf_token):
        raise Forbidden("missing or stale form token: reload the page and try again")


def _console_sign_in(request: web.Request, message: str) -> web.Response:
    """A page asked for without a session goes to sign-in and back; anything else is a 401."""
    if request.method in SAFE_METHODS and request.headers.get("Accept") != "text/event-stream":
        target = request.path_qs if len(request.path_qs) <= 1000 else "/console/"
        return redirect(f"/console/login?{urlencode({'next': target})}")
    return _error(401, message, html_page=True)


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser GETs the page it lands on."""
    return web.Response(status=303, headers={"Location": location})


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    html_page: bool = False,
) -> web.Response:
    if not html_page:
        return web.json_response({"error": message}, status=status, headers=headers)
    text = html.escape(message)
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{status}</title><link rel=stylesheet href=/console/static/console.css></head>"
        f"<body><main class=narrow><h1>{status}</h1><p role=alert>{text}</p>"
        '<p><a href="/console/">Back to the console</a></p></main></body></html>'
    )
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=headers
    )
