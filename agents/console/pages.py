"""The console's shared page plumbing: rendering for the caller, 404 pages, forms, and where
each role lands."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

from aiohttp import web
from faust.web import Request, View

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


class ConsolePage(View):
    """``register`` binds the services."""

    sessions: Sessions
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
