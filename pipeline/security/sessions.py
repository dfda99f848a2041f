"""Console sessions: a password signs a user in, a cookie carries the session, a row revokes it.

The cookie holds a random session id signed with the console secret, so a forged or mangled cookie is
refused before the database is asked; the database keeps only a hash of the id, with the session's
CSRF token and expiry. Every request looks the session up (trusted for a couple of seconds), so
signing out, a new password or a disabled user ends it everywhere within that long. A sign-in always
makes a new id: a session id planted in the browser before sign-in (fixation) signs nobody in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, Signer

from config import Settings
from models.access import Principal, Unauthenticated
from models.errors import PulseError
from models.messages import storable
from models.throttle import FailureThrottle
from pipeline.platform.db import LazyPool, connect
from pipeline.platform.queries import row, row_sync, run, run_sync
from pipeline.security import keyring
from pipeline.security.auth import (
    PASSWORD_HASHER,
    CachedRows,
    Throttled,
    UnknownUser,
    principal_from_row,
)

SESSION_COOKIE = "pulse_session"
LOGIN_COOKIE = "pulse_login"
MIN_PASSWORD = 8  # NIST SP 800-63B's floor for a password a person chooses
MAX_PASSWORD = 1024
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


class InvalidPassword(PulseError):
    """A password that cannot be set (too short, too long, or not text)."""


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf_token: str
    expires_at: datetime


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidPassword(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if not password.isprintable():
        raise InvalidPassword("a password is printable text: no control characters")
    return password


def set_password(database_url: str, username: str, password: str) -> int:
    """Set (or replace) a user's console password; returns how many sessions it ended."""
    hashed = PASSWORD_HASHER.hash(check_password(password))
    with connect(database_url) as conn:
        if row_sync(conn, "security/has_user", username=username) is None:
            raise UnknownUser(f"no active user {username}")
        return run_sync(conn, "security/set_password", username=username, password_hash=hashed)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    CACHE_SECONDS = 2.0  # an ended session is refused everywhere within this long

    def __init__(self, settings: Settings, database: LazyPool) -> None:
        secret = keyring.console_secret(settings)
        self._sessions = Signer(secret, salt="pulse-console-session")
        self._logins = Signer(secret, salt="pulse-console-login")
        self._db = database
        self.seconds = settings.console_session_seconds
        self._throttle = FailureThrottle(
            limit=settings.auth_failure_limit, window=settings.auth_failure_window_seconds
        )
        self._found = CachedRows(database, "security/console_session", _session, self.CACHE_SECONDS)

    # The sign-in form's own CSRF token: a signed nonce in a cookie and the same in the form.

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form value) for a sign-in form."""
        nonce = secrets.token_urlsafe(24)
        return self._logins.sign(nonce).decode(), nonce

    def login_nonce_matches(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field:
            return False
        try:
            nonce = self._logins.unsign(cookie).decode()
        except BadSignature:
            return False
        return hmac.compare_digest(nonce, field)

    async def sign_in(self, username: str, password: str, client: str) -> tuple[str, Session]:
        """A new session for a right name and password: (cookie value, session). A wrong one, an
        unknown user or a user without a password is the same ``Unauthenticated``; too many failures
        from this client or for this name are ``Throttled``."""
        now = time.monotonic()
        keys = [f"client:{client}", f"user:{username[:128]}"]
        wait = max(self._throttle.retry_after(k, now) for k in keys)
        if wait:
            raise Throttled(wait)
        known = 0 < len(username) <= 64 and storable(username)
        found = await self._user(username) if known else None
        stored = found["password_hash"] if found and found["password_hash"] else _DUMMY_HASH
        try:
            # argon2 is slow by design: off the event loop.
            await asyncio.to_thread(PASSWORD_HASHER.verify, stored, password[:MAX_PASSWORD])
            ok = found is not None and stored is not _DUMMY_HASH
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            for k in keys:
                self._throttle.failed(k, now)
            raise Unauthenticated("wrong user name or password")
        assert found is not None
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with (await self._db.get()).connection() as conn:
            created = await row(
                conn,
                "security/create_session",
                session_hash=_digest(session_id),
                username=found["username"],
                csrf_token=csrf,
                seconds=self.seconds,
            )
        assert created is not None
        return self._sessions.sign(session_id).decode(), Session(
            principal_from_row(found), csrf, created["expires_at"]
        )

    async def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; None for no cookie, a forged one or an ended session."""
        session_id = self._session_id(cookie)
        if session_id is None:
            return None
        return await self._found.get(_digest(session_id))

    async def find_any(self, cookies: list[str]) -> Session | None:
        """The first live session among the values sent for the cookie."""
        for cookie in cookies:
            if session := await self.find(cookie):
                return session
        return None

    async def sign_out(self, cookie: str | None) -> None:
        session_id = self._session_id(cookie)
        if session_id is None:
            return
        key = _digest(session_id)
        self._found.forget(key)
        async with (await self._db.get()).connection() as conn:
            await run(conn, "security/revoke_session", session_hash=key)

    def _session_id(self, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > 512:
            return None
        try:
            return self._sessions.unsign(cookie).decode()
        except BadSignature:
            return None

    async def _user(self, username: str) -> dict[str, Any] | None:
        async with (await self._db.get()).connection() as conn:
            return await row(conn, "security/user_password", username=username)


def _session(found: dict[str, Any]) -> Session:
    return Session(principal_from_row(found), found["csrf_token"], found["expires_at"])
