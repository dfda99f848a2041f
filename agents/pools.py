"""Pools: the command agent, the event relay, and the HTTP routes (thin adapters over
pipeline.pools). The middleware has authenticated the caller, checked the route's roles, and logs
and audits the request; what is left here is the object-level check: is this pool or investor the
caller's? When it is not, the answer is the same 404 as for one that does not exist."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from models.access import Role, sees_investor, sees_pool
from pipeline.platform.batches import route_batches
from pipeline.platform.json_bodies import ApiError
from pipeline.pools.api import (
    POOL_COMMAND_BODIES,
    CreatePoolBody,
    PoolApi,
    for_themselves,
)
from pipeline.pools.commands import PoolCommandHandler
from pipeline.pools.publisher import PoolEventPublisher
from pipeline.security.middleware import principal_of, read_body


class PoolView(View):
    """Shared plumbing: API errors become JSON with their status. ``register`` binds ``api``."""

    api: PoolApi
    max_body_bytes: int

    async def run(self, request: Request, call: Any) -> Response:
        try:
            status, body = await call
        except ApiError as exc:
            status, body = exc.status, exc.body
        return self.json(body, status=status)

    async def own_pool(self, request: Request, pool_id: str) -> dict[str, Any]:
        caller = principal_of(request)
        pool = await self.api.pool(pool_id, caller)
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
            raw = await read_body(request, self.max_body_bytes)  # 413 from the middleware
            key = request.headers.get("Idempotency-Key")

            check = for_themselves(caller) if kind == "create_pool" else None
            return await self.api.command(
                "POST", request.path, key, raw, kind, pool_id, model, caller, check
            )

        return await self.run(request, send())


class Pools(PoolView):
    async def post(self, request: Request) -> Response:
        return await self.write(request, "create_pool", None, CreatePoolBody)


class OnePool(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            return 200, await self.own_pool(request, pool_id)

        return await self.run(request, read())


class PoolPositions(PoolView):
    async def get(self, request: Request, pool_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            await self.own_pool(request, pool_id)  # 404 for an unknown pool, or another's
            return 200, await self.api.positions(pool_id=pool_id, caller=principal_of(request))

        return await self.run(request, read())


class InvestorPositions(PoolView):
    async def get(self, request: Request, investor_id: str) -> Response:
        async def read() -> tuple[int, Any]:
            caller = principal_of(request)
            if not sees_investor(caller, investor_id):
                raise ApiError(404, {"error": f"investor {investor_id} not found"})
            # A fund manager sees the investor's positions in the pools they manage, no others.
            managed_by = caller.manager_id if caller.role is Role.FUND_MANAGER else None
            return 200, await self.api.positions(
                investor_id=investor_id, managed_by=managed_by, caller=caller
            )

        return await self.run(request, read())


def _command_view(kind: str, model: type) -> type[PoolView]:
    class CommandView(PoolView):
        async def post(self, request: Request, pool_id: str) -> Response:
            return await self.write(request, kind, pool_id, model)

    CommandView.__name__ = f"{kind.title().replace('_', '')}View"
    return CommandView


ROUTES: list[tuple[str, type[PoolView]]] = [
    ("/pools", Pools),
    ("/pools/{pool_id}", OnePool),
    ("/pools/{pool_id}/positions", PoolPositions),
    ("/investors/{investor_id}/positions", InvestorPositions),
    *(
        (f"/pools/{{pool_id}}/{name}", _command_view(kind, model))
        for name, (kind, model) in POOL_COMMAND_BODIES.items()
    ),
]


def register(
    app: faust.App,
    commands_topic: Any,
    handler: PoolCommandHandler,
    publisher: PoolEventPublisher,
    api: PoolApi,
    max_body_bytes: int,
) -> None:
    route_batches(app, commands_topic, handler.handle, "agents.pools.apply_pool_commands")

    @app.timer(interval=5.0, name="agents.pools.relay_unpublished_pool_events")
    async def relay_unpublished_pool_events() -> None:
        await publisher.relay()  # never raises

    for path, view in ROUTES:
        bound = {"api": api, "max_body_bytes": max_body_bytes}
        app.page(path)(type(view.__name__, (view,), bound))
