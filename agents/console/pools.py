"""Pools through forms: the same commands as the HTTP API, each form with its idempotency key."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from faust.web import Request

from agents.console.pages import ConsolePage
from models.access import Principal, Role, sees_pool
from pipeline.console import reads
from pipeline.platform.json_bodies import ApiError
from pipeline.pools.api import POOL_COMMAND_BODIES, CreatePoolBody, for_themselves
from pipeline.security.middleware import principal_of, redirect

# The create form has no status: a pool created here is open at once.
CREATE_POOL_FIELDS = ("name", "currency", "target_size", "hard_cap", "manager_id")


def command_body(form: Mapping[str, str], fields: Iterable[str]) -> bytes:
    """The form as the command's JSON body: the fields it takes, those filled in."""
    return orjson.dumps({k: form[k].strip() for k in fields if form.get(k, "").strip()})


def error_text(exc: ApiError) -> str:
    """The API's error body in a sentence: its message, and each field it refused."""
    body = exc.body if isinstance(exc.body, dict) else {"error": str(exc.body)}
    text = str(body.get("error", "request refused"))
    if isinstance(body.get("detail"), str):
        text += f": {body['detail']}"
    errors = body.get("errors")
    if isinstance(errors, list):
        named = [f"{e.get('field')}: {e.get('message')}" for e in errors[:5] if isinstance(e, dict)]
        text += ": " + "; ".join(named)
    return text


def refused(status: int, answer: dict[str, Any]) -> None:
    """A command the pool refused (a closed pool, an overpayment) answers as the API would, as an
    error: the same status and message."""
    if status >= 400:
        raise ApiError(status, answer)


class Pools(ConsolePage):
    async def get(self, request: Request) -> Any:
        return await self._show(request)

    async def _show(
        self,
        request: Request,
        status: int = 200,
        error: str | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        caller = principal_of(request)
        async with (await self.read_pool(request)).connection() as conn:
            found = await reads.pools(conn, caller)
        return self.page(
            request,
            "pools.html",
            status,
            pools=found,
            error=error,
            form={k: (form or {}).get(k, "") for k in CREATE_POOL_FIELDS},
            idempotency_key=str(uuid.uuid4()),
        )

    async def post(self, request: Request) -> Any:
        caller = principal_of(request)
        form = dict(await self.form(request))
        if caller.role is Role.FUND_MANAGER:
            form["manager_id"] = caller.manager_id or ""
        try:
            status, created = await self.pools_api.command(
                "POST",
                "/pools",
                form.get("idempotency_key"),
                command_body(form, CREATE_POOL_FIELDS),
                "create_pool",
                None,
                CreatePoolBody,
                caller,
                for_themselves(caller),
            )
            refused(status, created)
        except ApiError as exc:
            return await self._show(request, exc.status, error_text(exc), form)
        return redirect(f"/console/pools/{created['id']}")


class PoolPage(ConsolePage):
    """A pool's page and its forms: the pool must be one the caller manages."""

    async def own_pool(self, caller: Principal, pool_id: str) -> dict[str, Any] | None:
        try:
            pool = await self.pools_api.pool(pool_id, caller)
        except ApiError:
            return None
        return pool if sees_pool(caller, pool["manager_ids"]) else None

    async def show(
        self,
        request: Request,
        pool: dict[str, Any],
        status: int = 200,
        error: str | None = None,
    ) -> Any:
        caller = principal_of(request)
        positions = await self.pools_api.positions(pool_id=pool["id"], caller=caller)
        async with (await self.read_pool(request)).connection() as conn:
            detail = await reads.pool_detail(conn, pool["id"])
        notice = {"1": "Recorded."}.get(request.query.get("done", ""))
        return self.page(
            request,
            "pool.html",
            status,
            pool=pool,
            positions=positions,
            error=error,
            notice=notice,
            keys={name: str(uuid.uuid4()) for name in POOL_COMMAND_BODIES},
            **detail,
        )


class OnePool(PoolPage):
    async def get(self, request: Request, pool_id: str) -> Any:
        pool = await self.own_pool(principal_of(request), pool_id)
        if pool is None:
            return self.not_found(request, "such pool")
        return await self.show(request, pool)


def command_page(name: str) -> type[ConsolePage]:
    kind, model = POOL_COMMAND_BODIES[name]

    class CommandPage(PoolPage):
        async def post(self, request: Request, pool_id: str) -> Any:
            caller = principal_of(request)
            pool = await self.own_pool(caller, pool_id)
            if pool is None:
                return self.not_found(request, "such pool")
            form = await self.form(request)
            try:
                refused(
                    *await self.pools_api.command(
                        "POST",
                        f"/pools/{pool_id}/{name}",
                        form.get("idempotency_key"),
                        command_body(form, model.model_fields),
                        kind,
                        pool_id,
                        model,
                        caller,
                    )
                )
            except ApiError as exc:
                fresh = await self.own_pool(caller, pool_id) or pool
                return await self.show(request, fresh, exc.status, error_text(exc))
            return redirect(f"/console/pools/{pool_id}?done=1")

    CommandPage.__name__ = f"{kind.title().replace('_', '')}Page"
    return CommandPage
