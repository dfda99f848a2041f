"""Acknowledging from outside the API: Twilio's inbound-SMS webhook and the one-click link in alert
emails. Both routes are public (no bearer token): the webhook is trusted by Twilio's signature, the
link by its own signed token, and each can do exactly one thing."""

from __future__ import annotations

import contextlib
import html
import json
from typing import Any
from urllib.parse import parse_qsl

import faust
from aiohttp import web
from faust.web import Request, Response, View
from twilio.twiml.messaging_response import MessagingResponse

from config import Settings
from models.alert_status import Action, UnknownAlert, Via
from pipeline.alerts import lifecycle
from pipeline.notify.inbound import SmsReplies
from pipeline.platform.db import LazyPool
from pipeline.security import alert_links
from pipeline.security.middleware import read_body

MAX_FORM_BYTES = 16 * 1024
# A page that loads nothing and can only post back to this server.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def form_of(raw: bytes) -> dict[str, str] | None:
    """A form-encoded body as a dict (Twilio sends each field once); None when it is not text."""
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None


def token_of(raw: bytes, query: Any) -> str | None:
    """The link's token as the page's form posts it, or as a client may: a JSON body, the query."""
    token: object = None
    if raw.lstrip().startswith(b"{"):
        with contextlib.suppress(ValueError, RecursionError):
            doc = json.loads(raw)
            token = doc.get("token") if isinstance(doc, dict) else None
    else:
        token = (form_of(raw) or {}).get("token")
    token = token or query.get("token")
    return token if isinstance(token, str) and len(token) <= 4096 else None


class TwilioSms(View):
    """``register`` binds ``replies``."""

    replies: SmsReplies

    async def post(self, request: Request) -> Response:
        form = form_of(await read_body(request, MAX_FORM_BYTES))
        signature = request.headers.get("X-Twilio-Signature")
        if form is None or not self.replies.signed(request.rel_url.path_qs, form, signature):
            return self.json({"error": "invalid or missing X-Twilio-Signature"}, status=403)
        reply = MessagingResponse()
        reply.message(await self.replies.answer(form))
        return web.Response(text=str(reply), content_type="text/xml")


def page(title: str, body: str, status: int = 200) -> web.Response:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;"
        "padding:0 1rem;line-height:1.5}button{font-size:1.1rem;padding:.5rem 1.2rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(
        text=document, content_type="text/html", status=status, headers=PAGE_HEADERS
    )


def _summary(alert: dict[str, Any]) -> str:
    kind = "Spike" if alert["kind"] == "spike" else "Large transaction"
    rows = [
        ("Alert", alert["alert_id"]),
        ("Kind", kind),
        ("Syndicate", alert["syndicate_id"]),
        ("Observed", alert["observed"]),
        ("Expected", alert["expected"]),
        ("Event time", alert["event_time"]),
        ("Status", alert["status"]),
    ]
    cells = "".join(
        f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{cells}</table>"


class AckLink(View):
    """``GET /alerts/ack?token=`` shows the alert and a button; its POST acknowledges it. A link
    acknowledges its one alert, as the manager it was sent to, while that manager still runs the
    syndicate. ``register`` binds ``settings`` and ``database``."""

    settings: Settings
    database: LazyPool

    def _link(self, token: str | None) -> alert_links.AckLink | web.Response:
        if not token:
            return page("Link incomplete", "<p>This link has no token.</p>", 400)
        try:
            return alert_links.verify(self.settings, token)
        except alert_links.InvalidLink as exc:
            return page("Link not valid", f"<p>{html.escape(str(exc))}.</p>", 403)

    async def get(self, request: Request) -> Response:
        token = request.query.get("token")
        link = self._link(token)
        if not isinstance(link, alert_links.AckLink):
            return link
        pool = await self.database.get()
        async with pool.connection() as conn:
            try:
                alert = await lifecycle.get_alert(conn, link.alert_id, link.manager_id)
            except UnknownAlert:
                return page("Alert not found", "<p>This alert is not yours to handle.</p>", 404)
        form = (
            '<form method=post action="/alerts/ack">'
            f'<input type=hidden name=token value="{html.escape(token or "")}">'
            "<button type=submit>Acknowledge</button></form>"
        )
        return page("Acknowledge this alert?", _summary(alert) + form)

    async def post(self, request: Request) -> Response:
        link = self._link(token_of(await read_body(request, MAX_FORM_BYTES), request.query))
        if not isinstance(link, alert_links.AckLink):
            return link
        pool = await self.database.get()
        async with pool.connection() as conn:
            try:
                decision, alert = await lifecycle.act(
                    conn,
                    link.alert_id,
                    Action.ACKNOWLEDGE,
                    actor=link.manager_id,
                    via=Via.EMAIL,
                    manager_id=link.manager_id,
                )
            except UnknownAlert:
                return page("Alert not found", "<p>This alert is not yours to handle.</p>", 404)
        title = "Acknowledged" if decision.changes else f"Already {decision.before.value}"
        return page(title, f"<p>{html.escape(decision.describe(alert['alert_id']))}.</p>")


def register(app: faust.App, settings: Settings, database: LazyPool, replies: SmsReplies) -> None:
    """Before the alerts' API routes: ``/alerts/ack`` must match ahead of ``/alerts/{alert_id}``."""
    app.page("/alerts/ack")(
        type("AckLink", (AckLink,), {"settings": settings, "database": database})
    )
    app.page("/webhooks/twilio/sms")(type("TwilioSms", (TwilioSms,), {"replies": replies}))
