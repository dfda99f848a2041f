"""Pools: the command agent and the HTTP routes (thin adapters over pipeline.pools.commands / pool_api)."""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response, View

from config import get_settings
from models.access import Role, may_create_pool_for, sees_investor, sees_pool
from pipeline.platform.consuming import consume
from pipeline.platform.dead_letters import internal_office
from pipeline.platform.faust_app import app
from pipeline.platform.topics import POOL_COMMANDS, POOL_EVENTS, faust_topic
from pipeline.pools.api import (
    ApiError,
    CapitalCallBody,
    CommitmentBody,
    ContributionBody,
    CreatePoolBody,
    DistributionBody,
    EmptyBody,
    PoolApi,
)
from pipeline.pools.commands import PoolCommandHandler
from pipeline.pools.publisher import PoolEventPublisher
from pipeline.security.middleware import principal_of, read_body

settings = get_settings()
commands_topic = faust_topic(app, POOL_COMMANDS)
pool_events = PoolEventPublisher(settings.resolved_database_url(), faust_topic(app, POOL_EVENTS))
handler = PoolCommandHandler(settings.resolved_database_url(), pool_events, internal_office(app))
api = PoolApi(
    settings.resolved_database_url(),
    commands_topic,
    max_body_bytes=settings.max_body_bytes,
    max_json_depth=settings.max_json_depth,
)


@app.agent(commands_topic)
async def apply_pool_commands(stream):  # type: ignore[no-untyped-def]
    await consume(stream, 500, 0.005, handler.handle)


@app.timer(interval=5.0)
async def relay_unpublished_pool_events() -> None:
    await pool_events.relay()  # never raises


class PoolView(View):
    """Shared plumbing: API errors become JSON with their status. The middleware in
    pipeline.security.middleware has authenticated the caller, checked the route's roles, and logs and
    audits the request; what is left here is the object-level check: is this pool or investor the
    caller's? When it is not, the answer is the same 404 as for one that does not exist."""

    async def run(self, request: Request, call: Any) -> Response:
        try:
            status, body = await call
        except ApiError as exc:
            status, body = exc.status, exc.body
        return self.json(body, status=status)

    async def own_pool(self, request: Request, pool_id: str) -> dict[str, Any]:
        caller = principal_of(request)
        pool = await api.pool(pool_id, caller)
        if not sees_pool(caller, pool["manager_ids"]):
            raise ApiError(404, {"error": f"pool {pool_id} not found"})
        return pool

    async def write(
        self, request: Request, kind: str, pool_id: str | None, model: type
    ) -> Response:
        async def send() -> tuple[int, Any]:
            caller = principal_of(request)
            if pool_id is not None and caller.role is not Role.ADMIN:
                await self.own_pool(request, pool_id)
            raw = await read_body(request, settings.max_body_bytes)  # 413 from the middleware
            key = request.headers.get("Idempotency-Key")

            def check(data: dict[str, Any]) -> None:
                if kind == "create_pool" and not may_create_pool_for(caller, data["manager_id"]):
                    raise ApiError(
                        403, {"error": "a fund manager creates pools only for themselves"}
                    )

            return await api.command(
                "POST", request.path, key, raw, kind, pool_id, model, caller, check
            )

        return await self.run(request, send())


@app.page("/pools")
class Pools(PoolView):
    async def post(self, request: Request) -> Response:
        return await self.write(request, "create_pool", None, CreatePoolBody)


@app.page("/pools/{pool_id}")
class OnePool(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            return 200, await self.own_pool(request, pool_id)

        return await self.run(request, read())


@app.page("/pools/{pool_id}/positions")
class PoolPositions(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            await self.own_pool(request, pool_id)  # 404 for an unknown pool, or another's
            return 200, await api.positions(pool_id=pool_id, caller=principal_of(request))

        return await self.run(request, read())


@app.page("/investors/{investor_id}/positions")
class InvestorPositions(PoolView):
    async def get(self, request: Request, investor_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            caller = principal_of(request)
            if not sees_investor(caller, investor_id):
                raise ApiError(404, {"error": f"investor {investor_id} not found"})
            # A fund manager sees the investor's positions in the pools they manage, no others.
            managed_by = caller.manager_id if caller.role is Role.FUND_MANAGER else None
            return 200, await api.positions(
                investor_id=investor_id, managed_by=managed_by, caller=caller
            )

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
