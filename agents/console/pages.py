"""The console's shared page plumbing: rendering for the caller, 404 pages, forms, and where
each role lands."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from aiohttp import web
from faust.web import Request, View
from psycopg_pool import AsyncConnectionPool

from config import Settings
from models.access import Role
from pipeline.console import render
from pipeline.platform.db import LazyPool
from pipeline.pools.api import PoolApi
from pipeline.security.middleware import principal_of, redirect, session_of
from pipeline.security.sessions import Sessions

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
HOMES = {
    Role.ADMIN: "/console/admin",
    Role.FUND_MANAGER: "/console/alerts",
    Role.INVESTOR: "/console/me",
    Role.OPS: "/console/ops",
}


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


# Set by every form that succeeded: for a few seconds, this browser's pages read the primary, so
# the page after a write shows it whatever the replica's lag.
FRESH_COOKIE = "pulse_wrote"
FRESH_SECONDS = 10


class ConsolePage(View):
    """``register`` binds the services: ``database`` is the primary, ``reads`` the replica (the
    primary again without one)."""

    sessions: Sessions
    database: LazyPool
    reads: LazyPool
    pools_api: PoolApi
    settings: Settings

    async def dispatch(self, request: Any) -> Any:
        response = await super().dispatch(request)
        if request.method == "POST" and response is not None and response.status < 400:
            self.set_cookie(request, response, FRESH_COOKIE, "1", FRESH_SECONDS, "/console")
        return response

    async def read_pool(self, request: Request) -> AsyncConnectionPool:
        """Where a page reads: the replica, unless this browser wrote a moment ago."""
        fresh = request.cookies.get(FRESH_COOKIE) == "1"
        return await (self.database if fresh else self.reads).get()

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

    def set_cookie(
        self,
        request: Request,
        response: web.Response,
        name: str,
        value: str,
        max_age: int,
        path: str,
    ) -> None:
        """The console's cookies: HttpOnly, SameSite=Strict, and Secure behind TLS."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            httponly=True,
            samesite="Strict",
            secure=request.secure or self.settings.resolved_public_url().startswith("https://"),
        )


class Home(ConsolePage):
    async def get(self, request: Request) -> Any:
        return redirect(HOMES[principal_of(request).role])


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """The console's stylesheet and script by name, read once: (body, content type)."""
    folder = resources.files("pipeline.console") / "static"
    return {
        f.name: (f.read_bytes(), STATIC_TYPES[suffix])
        for f in folder.iterdir()
        if (suffix := f.name[f.name.rfind(".") :]) in STATIC_TYPES
    }


class Static(ConsolePage):
    async def get(self, request: Request, name: str) -> Any:
        found = static_files().get(name)
        if found is None:
            return web.Response(status=404, text="not found")
        body, content_type = found
        return web.Response(
            body=body, content_type=content_type, headers={"Cache-Control": "public, max-age=300"}
        )
