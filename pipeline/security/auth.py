"""Authentication: API users, bearer tokens (JWT) and API keys.

A bearer token names a user (``sub``) and their role; every request still looks the user up (cached
for a few seconds), so disabling a user or changing their role ends their tokens' power promptly.
API keys are for services: ``psk_<key id>_<secret>``, of which only an argon2 hash is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import jwt
import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config import Settings
from models.access import InvalidUser, Principal, Role, Unauthenticated
from models.errors import PulseError
from models.throttle import FailureThrottle
from pipeline.platform.db import LazyPool, connect, with_iso
from pipeline.platform.queries import row, row_sync, rows_sync, run, run_sync
from pipeline.security import keyring

T = TypeVar("T")
KEY_PREFIX = "psk_"
MAX_TTL = timedelta(days=30)
_TTL = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# argon2id: API keys' secrets and console passwords alike.
PASSWORD_HASHER = PasswordHasher()


class UnknownUser(PulseError):
    """No API user has that name."""


class Throttled(PulseError):
    """Too many failed authentications from this client or for this key: 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications; retry in {retry_after} s")
        self.retry_after = retry_after


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d``: at least a second, at most 30 days."""
    found = _TTL.match(text.strip())
    if not found:
        raise PulseError(f"--ttl {text!r}: a number and s, m, h or d, e.g. 1h")
    ttl = timedelta(seconds=int(found[1]) * _UNITS[found[2]])
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise PulseError("--ttl must be between 1s and 30d")
    return ttl


# Users


def create_user(database_url: str, principal: Principal) -> None:
    with connect(database_url) as conn:
        try:
            run_sync(
                conn,
                "security/create_user",
                username=principal.username,
                role=principal.role.value,
                manager_id=principal.manager_id,
                investor_id=principal.investor_id,
            )
        except psycopg.errors.UniqueViolation:
            raise InvalidUser(f"user {principal.username} exists already") from None


def principal_from_row(row: dict[str, Any]) -> Principal:
    """A user row (username, role, manager_id, investor_id) as the caller it signs in."""
    return Principal(row["username"], Role(row["role"]), row["manager_id"], row["investor_id"])


def get_user(database_url: str, username: str) -> Principal:
    with connect(database_url) as conn:
        row = row_sync(conn, "security/active_user", key=username)
    if row is None:
        raise UnknownUser(f"no active user {username}")
    return principal_from_row(row)


def disable_user(database_url: str, username: str) -> None:
    with connect(database_url) as conn:
        done = run_sync(conn, "security/disable_user", username=username)
    if not done:
        raise UnknownUser(f"no active user {username}")


def list_users(database_url: str) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        users = rows_sync(conn, "security/list_users")
    return [with_iso(u, "created_at", "disabled_at") for u in users]


# Bearer tokens


def issue_token(
    settings: Settings, principal: Principal, ttl: timedelta, now: datetime | None = None
) -> str:
    keys = keyring.token_keys(settings)
    if keys.signing is None:
        raise PulseError("RS256 tokens: set PULSE_JWT_PRIVATE_KEY to issue them here")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": principal.username,
        "role": principal.role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, keys.signing, algorithm=keys.algorithm)


def decode_token(settings: Settings, keys: keyring.TokenKeys, token: str) -> dict[str, Any]:
    """Verified claims; only the configured algorithm is accepted (never ``none``)."""
    try:
        return jwt.decode(
            token,
            keys.verifying,
            algorithms=[keys.algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "role"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None


# API keys


def create_api_key(database_url: str, username: str, label: str = "") -> str:
    """A new key for ``username``; the only time the key is seen."""
    get_user(database_url, username)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with connect(database_url) as conn:
        run_sync(
            conn,
            "security/create_api_key",
            key_id=key_id,
            username=username,
            secret_hash=PASSWORD_HASHER.hash(secret),
            label=label,
        )
    return f"{KEY_PREFIX}{key_id}_{secret}"


def split_api_key(key: str) -> tuple[str, str]:
    if not key.startswith(KEY_PREFIX) or "_" not in key[len(KEY_PREFIX) :]:
        raise Unauthenticated("malformed API key")
    key_id, secret = key[len(KEY_PREFIX) :].split("_", 1)
    return key_id, secret


def revoke_api_key(database_url: str, key_id: str) -> None:
    with connect(database_url) as conn:
        done = run_sync(conn, "security/revoke_api_key", key_id=key_id)
    if not done:
        raise PulseError(f"no active API key {key_id}")


def list_api_keys(database_url: str) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        keys = rows_sync(conn, "security/list_api_keys")
    return [with_iso(k, "created_at", "revoked_at", "last_used_at") for k in keys]


class CachedRows(Generic[T]):
    """One row by key, trusted for ``ttl`` seconds: a disabled user, a revoked key or an ended
    session is refused within that long, and PostgreSQL is not asked on every request. A flood of
    distinct keys empties the cache rather than growing it."""

    MAX_KEYS = 10_000

    def __init__(
        self,
        database: LazyPool,
        statement: str,
        row_to: Callable[[dict[str, Any]], T],
        ttl: float,
    ) -> None:
        self._db = database
        self._statement = statement
        self._row_to = row_to
        self._ttl = ttl
        self._cache: dict[str, tuple[T | None, float]] = {}

    async def get(self, key: str) -> T | None:
        cached = self._cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with (await self._db.get()).connection() as conn:
            found = await row(conn, self._statement, key=key)
        value = None if found is None else self._row_to(found)
        if len(self._cache) >= self.MAX_KEYS:
            self._cache.clear()
        self._cache[key] = (value, time.monotonic() + self._ttl)
        return value

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)


class Authenticator:
    """Turns request credentials into a Principal, for the web server."""

    USER_TTL = 2.0  # seconds a looked-up user or key is trusted before asking again

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._keys = keyring.token_keys(settings)
        self._db = LazyPool(settings.resolved_database_url, max_size=4)
        self._users = CachedRows(
            self._db, "security/active_user", principal_from_row, self.USER_TTL
        )
        self._tokens: dict[str, dict[str, Any]] = {}
        self._key_owners = CachedRows(
            self._db,
            "security/active_api_key",
            lambda r: (r["username"], r["secret_hash"]),
            self.USER_TTL,
        )
        self._throttle = FailureThrottle(
            limit=settings.auth_failure_limit, window=settings.auth_failure_window_seconds
        )
        self._verified: dict[str, str] = {}  # sha256 of a key that passed argon2 -> its key id

    async def authenticate(
        self, authorization: str | None, api_key: str | None, client: str = ""
    ) -> Principal:
        now = time.monotonic()
        keys = [f"client:{client}"]
        presented = api_key or (authorization or "").partition(" ")[2].strip()
        if presented.startswith(KEY_PREFIX):
            keys.append(f"key:{presented[len(KEY_PREFIX) :].split('_', 1)[0]}")
        wait = max(self._throttle.retry_after(k, now) for k in keys) if presented else 0
        if wait:
            raise Throttled(wait)
        try:
            return await self._authenticate(authorization, api_key)
        except Unauthenticated:
            if presented:  # a wrong credential counts; asking without one guesses nothing
                for k in keys:
                    self._throttle.failed(k, now)
            raise

    async def _authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        if api_key:
            return await self._by_api_key(api_key)
        if not authorization:
            raise Unauthenticated("authentication required: send Authorization: Bearer <token>")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("use Authorization: Bearer <token or API key>")
        if credential.startswith(KEY_PREFIX):
            return await self._by_api_key(credential)
        claims = self._tokens.get(credential)
        if claims is None or claims["exp"] <= time.time():
            claims = decode_token(self._settings, self._keys, credential)
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            # A verified token stays verified until it expires; its user is still looked up.
            self._tokens[credential] = claims
        principal = await self._active_user(str(claims["sub"]))
        if principal.role.value != claims["role"]:
            raise Unauthenticated("the user's role has changed: issue a new token")
        return principal

    async def _active_user(self, username: str) -> Principal:
        principal = await self._users.get(username)
        if principal is None:
            raise Unauthenticated("unknown or disabled user")
        return principal

    async def _by_api_key(self, key: str) -> Principal:
        key_id, secret = split_api_key(key)
        digest = hashlib.sha256(key.encode()).hexdigest()
        found = await self._key_owners.get(key_id)
        if found is None:
            raise Unauthenticated("unknown or revoked API key")
        username, secret_hash = found
        if self._verified.get(digest) != key_id:
            try:
                # argon2 is slow by design: off the event loop, and once per key per process.
                await asyncio.to_thread(PASSWORD_HASHER.verify, secret_hash, secret)
            except (VerificationError, InvalidHashError):
                raise Unauthenticated("unknown or revoked API key") from None
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = key_id
            async with (await self._db.get()).connection() as conn:
                await run(conn, "security/api_key_used", key_id=key_id)
        return await self._active_user(username)
