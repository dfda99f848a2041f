"""Pages for investors, ops and admins."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from faust.web import Request

import sql
from agents.console.pages import ConsolePage
from models.access import Role
from pipeline.console import reads
from pipeline.ingest.replay import replay_dead_letters
from pipeline.notify.managers import list_managers
from pipeline.platform.health import consumer_lag
from pipeline.security.middleware import principal_of, redirect


class Me(ConsolePage):
    async def get(self, request: Request) -> Any:
        caller = principal_of(request)
        investor_id = caller.investor_id or ""
        positions = await self.pools_api.positions(investor_id=investor_id, caller=caller)
        async with (await self.read_pool(request)).connection() as conn:
            own = await reads.investor(conn, investor_id)
        return self.page(request, "me.html", positions=positions, **own)


class Operations(ConsolePage):
    async def get(self, request: Request) -> Any:
        async with (await self.read_pool(request)).connection() as conn:
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
        count = await replay_dead_letters(
            self.settings.kafka_bootstrap(), form.get("reason") or None
        )
        return redirect(f"/console/ops?replayed={count}")


class Admin(ConsolePage):
    async def get(self, request: Request) -> Any:
        async with (await self.read_pool(request)).connection() as conn:
            found = await reads.administration(conn)
        managers = await asyncio.to_thread(list_managers, self.settings.resolved_database_url())
        return self.page(
            request,
            "admin.html",
            managers=managers,
            top_query=sql.load("ingest/top_investors"),
            **found,
        )
