"""With auth off, the web server may only listen on this machine."""

from __future__ import annotations

import pytest

from config import Settings
from pipeline.security.middleware import InsecureBind, check_bind


@pytest.mark.parametrize("bind", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_auth_off_is_allowed_on_loopback(bind: str):
    check_bind(Settings(auth_enabled=False, web_bind=bind))


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.0.0.7", "pulse.example"])
def test_auth_off_is_refused_beyond_loopback(bind: str):
    with pytest.raises(InsecureBind, match="loopback"):
        check_bind(Settings(auth_enabled=False, web_bind=bind))
    check_bind(Settings(auth_enabled=True, web_bind=bind))


def test_a_state_changing_request_that_fails_unexpectedly_is_answered_500_and_audited():
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from pipeline.security.middleware import WebSecurity

    security = WebSecurity(Settings(auth_enabled=False, web_bind="127.0.0.1"))
    rows: list[dict] = []

    async def record(**row: object) -> None:
        rows.append(row)

    security._audit_log.append = record  # type: ignore[method-assign]

    async def broken(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("a bug in a handler")

    async def call(method: str) -> web.StreamResponse:
        request = make_mocked_request(method, "/pools", headers={"Idempotency-Key": "k-1"})
        return await security.middleware(request, broken)

    response = asyncio.run(call("POST"))
    assert response.status == 500
    assert response.headers["X-Request-Id"] in response.text
    assert [(r["action"], r["target"], r["outcome"]) for r in rows] == [("POST", "/pools", 500)]
    assert asyncio.run(call("GET")).status == 500
    assert len(rows) == 1  # reads are not audited
