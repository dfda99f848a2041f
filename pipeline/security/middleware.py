"""The web server's front door: one aiohttp middleware in front of every route, Faust's own included.

In order: a request id; the body-size limit; who the caller is (token or API key); whether their role
may use the route (``models.access.POLICY``: default deny); the handler; security headers; one log
line; and, for every state-changing request, whatever its outcome, an audit log entry.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
from aiohttp import web
from psycopg_pool import PoolTimeout

from config import Settings
from models.access import LOCAL, Forbidden, Principal, Unauthenticated, authorize, is_public
from models.errors import PulseError
from pipeline.platform.db import LazyPool
from pipeline.security import audit
from pipeline.security.auth import Authenticator, Throttled

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
        self._audit_log = audit.AuditWriter(database.get)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = request_id(request)
        request["request_id"] = rid
        started = time.perf_counter()
        route = route_of(request)
        principal: Principal | None = None
        try:
            if (request.content_length or 0) > self.settings.max_body_bytes:
                raise TooLarge(self.settings.max_body_bytes)
            if self.authenticator is None:
                principal = LOCAL
            elif not is_public(request.method, route):
                principal = await self.authenticator.authenticate(
                    request.headers.get("Authorization"),
                    request.headers.get("X-API-Key"),
                    request.remote or "",
                )
                if route is not None:  # no such route: the router answers 404 / 405
                    authorize(principal, request.method, route)
            request["principal"] = principal
            response = await handler(request)
        except Unauthenticated as exc:
            response = _error(401, str(exc), {"WWW-Authenticate": 'Bearer realm="pulse"'})
        except Forbidden as exc:
            response = _error(403, str(exc))
        except TooLarge as exc:
            response = _error(413, str(exc))
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason)
        except Throttled as exc:
            response = _error(429, str(exc), {"Retry-After": str(exc.retry_after)})
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("request %s: PostgreSQL unavailable", rid, exc_info=True)
            response = _error(503, "the database is unavailable; retry shortly")
        except Exception:
            # Answered and audited like any other outcome: a failed change is still a request.
            log.exception("request %s failed", rid)
            response = _error(500, f"internal error; request id {rid}")
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


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
