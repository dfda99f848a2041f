"""Signing in and out of the console: the form, its own CSRF nonce, the session cookie."""

from __future__ import annotations

from typing import Any

from faust.web import Request

from agents.console.pages import HOMES, ConsolePage, safe_next
from models.access import Unauthenticated
from pipeline.security.auth import Throttled
from pipeline.security.middleware import cookie_values, redirect
from pipeline.security.sessions import LOGIN_COOKIE, SESSION_COOKIE


class Login(ConsolePage):
    async def get(self, request: Request) -> Any:
        if await self.sessions.find_any(cookie_values(request, SESSION_COOKIE)):
            return redirect("/console/")
        return self._form(request, next_page=request.query.get("next"))

    def _form(
        self,
        request: Request,
        status: int = 200,
        error: str | None = None,
        username: str = "",
        next_page: str | None = None,
    ) -> Any:
        cookie, nonce = self.sessions.login_nonce()
        response = self.page(
            request,
            "login.html",
            status,
            error=error,
            username=username,
            next=safe_next(next_page),
            login_token=nonce,
        )
        self.set_cookie(request, response, LOGIN_COOKIE, cookie, 3600, "/console/login")
        return response

    async def post(self, request: Request) -> Any:
        form = await self.form(request)
        username = form.get("username", "").strip()
        token = form.get("csrf_token")
        cookie = request.cookies.get(LOGIN_COOKIE)
        # A browser's sign-in comes from our own form (its Origin was checked by the middleware);
        # the form's token proves it is this browser's. A script with no cookie and no token is no
        # browser another site could have driven.
        if (
            token or cookie or "Origin" in request.headers
        ) and not self.sessions.login_nonce_matches(cookie, token):
            return self._form(
                request, 403, "The form expired. Please sign in again.", username, form.get("next")
            )
        try:
            value, session = await self.sessions.sign_in(
                username, form.get("password", ""), request.remote or ""
            )
        except Throttled as exc:
            response = self._form(request, 429, str(exc), username, form.get("next"))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except Unauthenticated as exc:
            return self._form(request, 401, str(exc), username, form.get("next"))
        home = HOMES[session.principal.role]
        response = redirect(safe_next(form.get("next"), home))
        self.set_cookie(request, response, SESSION_COOKIE, value, self.sessions.seconds, "/console")
        response.del_cookie(LOGIN_COOKIE, path="/console/login")
        return response


class Logout(ConsolePage):
    async def post(self, request: Request) -> Any:
        for value in cookie_values(request, SESSION_COOKIE):
            await self.sessions.sign_out(value)
        response = redirect("/console/login")
        response.del_cookie(SESSION_COOKIE, path="/console")
        return response
