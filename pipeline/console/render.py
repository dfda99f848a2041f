"""Pages: Jinja2 templates (autoescaped) turned into responses with the console's own headers."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from models.access import Principal, Role

# Nothing but this server's own files: no inline script, no other site, no framing.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def moment(value: Any) -> str:
    """An ISO instant as people read it: to the second, in UTC."""
    if not value:
        return "—"
    text = str(value).replace("T", " ")
    return text[:19] + " UTC"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.console", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["moment"] = moment
    return env


def nav(principal: Principal | None) -> list[tuple[str, str]]:
    """The pages a role may open, in the order they show."""
    if principal is None:
        return []
    role = principal.role
    links: list[tuple[str, str]] = []
    if role in (Role.ADMIN, Role.FUND_MANAGER):
        links += [("/console/alerts", "Alerts"), ("/console/pools", "Pools")]
    if role is Role.INVESTOR:
        links.append(("/console/me", "My positions"))
    if role in (Role.ADMIN, Role.OPS):
        links.append(("/console/ops", "Operations"))
    if role is Role.ADMIN:
        links.append(("/console/admin", "Admin"))
    return links


def html(
    template: str,
    *,
    principal: Principal | None,
    csrf_token: str,
    code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    text = (
        environment()
        .get_template(template)
        .render(principal=principal, csrf_token=csrf_token, nav=nav(principal), **context)
    )
    return web.Response(
        text=text,
        status=code,
        content_type="text/html",
        charset="utf-8",
        headers={**HEADERS, **(headers or {})},
    )


def fragment(template: str, **context: Any) -> str:
    """A piece of a page (one alert's row) for the live list."""
    return environment().get_template(template).render(**context)
