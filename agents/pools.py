"""Pools: the command agent and the HTTP routes (thin adapters over pipeline.pool_commands / pool_api)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from faust.web import Request, Response, View

from config import get_settings
from pipeline.app import app
from pipeline.pool_api import (
    ApiError,
    CapitalCallBody,
    CommitmentBody,
    ContributionBody,
    CreatePoolBody,
    DistributionBody,
    EmptyBody,
    PoolApi,
)
from pipeline.pool_commands import PoolCommandHandler
from pipeline.topics import POOL_COMMANDS, POOL_EVENTS, faust_topic

settings = get_settings()
log = logging.getLogger("pulse.api")
commands_topic = faust_topic(app, POOL_COMMANDS)
handler = PoolCommandHandler(settings.resolved_database_url(), faust_topic(app, POOL_EVENTS))
api = PoolApi(settings.resolved_database_url(), commands_topic)


@app.agent(commands_topic)
async def apply_pool_commands(stream):  # type: ignore[no-untyped-def]
    async for events in stream.take_events(500, within=0.005):
        await handler.handle(events)


def request_id(request: Request) -> str:
    """The caller's X-Request-Id when it is sane, else a new one; echoed back and logged."""
    given = request.headers.get("X-Request-Id", "")
    ok = 0 < len(given) <= 64 and given.isprintable() and " " not in given
    return given if ok else uuid.uuid4().hex


class PoolView(View):
    """Shared plumbing: errors become JSON with their status; every request is logged with its id."""

    async def run(self, request: Request, call: Any) -> Response:
        rid = request_id(request)
        started = time.perf_counter()
        try:
            status, body = await call
        except ApiError as exc:
            status, body = exc.status, exc.body
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "request %s %s %s -> %d in %.1f ms", rid, request.method, request.path, status, elapsed
        )
        return self.json(body, status=status, headers={"X-Request-Id": rid})

    async def write(
        self, request: Request, kind: str, pool_id: str | None, model: type
    ) -> Response:
        raw = await request.read()
        key = request.headers.get("Idempotency-Key")
        command = api.command("POST", request.path, key, raw, kind, pool_id, model)
        return await self.run(request, command)


@app.page("/pools")
class Pools(PoolView):
    async def post(self, request: Request) -> Response:
        return await self.write(request, "create_pool", None, CreatePoolBody)


@app.page("/pools/{pool_id}")
class OnePool(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            return 200, await api.pool(pool_id)

        return await self.run(request, read())


@app.page("/pools/{pool_id}/positions")
class PoolPositions(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            await api.pool(pool_id)  # 404 for an unknown pool
            return 200, await api.positions(pool_id=pool_id)

        return await self.run(request, read())


@app.page("/investors/{investor_id}/positions")
class InvestorPositions(PoolView):
    async def get(self, request: Request, investor_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            return 200, await api.positions(investor_id=investor_id)

        return await self.run(request, read())


def _command_route(path: str, kind: str, model: type) -> None:
    class CommandView(PoolView):
        async def post(self, request: Request, pool_id: str) -> Response:
            return await self.write(request, kind, pool_id, model)

    CommandView.__name__ = f"{kind.title().replace('_', '')}View"
    app.page(path)(CommandView)


_command_route("/pools/{pool_id}/commitments", "commit", CommitmentBody)
_command_route("/pools/{pool_id}/capital-calls", "capital_call", CapitalCallBody)
_command_route("/pools/{pool_id}/contributions", "contribute", ContributionBody)
_command_route("/pools/{pool_id}/distributions", "distribute", DistributionBody)
_command_route("/pools/{pool_id}/close", "close", EmptyBody)
_command_route("/pools/{pool_id}/open", "open", EmptyBody)
