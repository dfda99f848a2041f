"""Who may do what: roles, callers and the route policy. Plain Python, no I/O.

Default deny: a route that is not in ``POLICY`` is refused to everyone. Two levels of check:

- route level (here, ``authorize``): the caller's role must be one the route names. A role that can
  never use a route gets 403 whatever the resource, which tells nothing about existence;
- object level (``sees_pool``, ``sees_investor``): a caller whose role may use the route but who is
  not party to this pool or investor gets 404, exactly as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from models.errors import PulseError


class Role(StrEnum):
    ADMIN = "admin"
    FUND_MANAGER = "fund_manager"
    INVESTOR = "investor"
    OPS = "ops"


USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


class InvalidUser(PulseError):
    """A user definition that cannot be stored (bad name, role or missing scope)."""


class Unauthenticated(PulseError):
    """No credentials, or credentials that do not prove who the caller is: 401."""


class Forbidden(PulseError):
    """A known caller whose role may not use this route: 403."""


@dataclass(frozen=True)
class Principal:
    """The caller of a request, as established by a token or an API key."""

    username: str
    role: Role
    manager_id: str | None = None
    investor_id: str | None = None

    @staticmethod
    def define(
        username: str, role: str, manager_id: str | None = None, investor_id: str | None = None
    ) -> Principal:
        """A new user's principal, validated: managers need a manager id, investors an investor id."""
        if not USERNAME.match(username):
            raise InvalidUser(
                f"user name {username!r}: 1-64 of a-z 0-9 . _ @ -, starting with a letter or digit"
            )
        try:
            parsed = Role(role)
        except ValueError:
            raise InvalidUser(f"role {role!r}: one of {', '.join(r.value for r in Role)}") from None
        if parsed is Role.FUND_MANAGER and not manager_id:
            raise InvalidUser("a fund_manager needs --manager-id")
        if parsed is Role.INVESTOR and not investor_id:
            raise InvalidUser("an investor needs --investor-id")
        if parsed is not Role.FUND_MANAGER and manager_id:
            raise InvalidUser("only a fund_manager has a --manager-id")
        if parsed is not Role.INVESTOR and investor_id:
            raise InvalidUser("only an investor has an --investor-id")
        for value in (manager_id, investor_id):
            if value is not None and not 0 < len(value) <= 128:
                raise InvalidUser("ids are 1-128 characters")
        return Principal(username, parsed, manager_id, investor_id)


#: Auth off (local demo, loopback only): the single local caller may do everything.
LOCAL = Principal("local", Role.ADMIN)

PUBLIC: frozenset[Role] = frozenset(Role)  # marker: no credentials needed
OPS_ONLY = frozenset({Role.OPS})
MANAGERS = frozenset({Role.ADMIN, Role.FUND_MANAGER})

#: Anyone signed in, whatever their role: not PUBLIC (``is_public`` tells them apart by identity).
SIGNED_IN: frozenset[Role] = frozenset(set(Role))
ADMIN_ONLY = frozenset({Role.ADMIN})
INVESTORS = frozenset({Role.INVESTOR})
WATCHERS = frozenset({Role.ADMIN, Role.OPS})

POOL_COMMANDS = ("commitments", "capital-calls", "contributions", "distributions", "close", "open")

#: (method, route pattern) -> roles allowed. Route patterns are the web server's own.
POLICY: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): OPS_ONLY,
    ("GET", "/metrics"): OPS_ONLY,
    # Faust's own pages: stats, partition assignment, router and table introspection.
    ("GET", "/"): OPS_ONLY,
    ("GET", "/assignment/"): OPS_ONLY,
    ("GET", "/router/"): OPS_ONLY,
    ("GET", "/router/topics"): OPS_ONLY,
    ("GET", "/router/{name}/"): OPS_ONLY,
    ("GET", "/router/{name}/{key}/"): OPS_ONLY,
    ("GET", "/table/"): OPS_ONLY,
    ("GET", "/table/{name}/"): OPS_ONLY,
    ("GET", "/table/{name}/{key}/"): OPS_ONLY,
    ("POST", "/pools"): MANAGERS,
    ("GET", "/pools/{pool_id}"): MANAGERS,
    ("GET", "/pools/{pool_id}/positions"): MANAGERS,
    ("GET", "/investors/{investor_id}/positions"): frozenset(
        {Role.ADMIN, Role.FUND_MANAGER, Role.INVESTOR}
    ),
    **{("POST", f"/pools/{{pool_id}}/{command}"): MANAGERS for command in POOL_COMMANDS},
    # Alerts: admins see all, a fund manager those of the syndicates assigned to them.
    ("GET", "/alerts"): MANAGERS,
    ("GET", "/alerts/{alert_id}"): MANAGERS,
    ("POST", "/alerts/{alert_id}/ack"): MANAGERS,
    ("POST", "/alerts/{alert_id}/resolve"): MANAGERS,
    ("GET", "/syndicates/{syndicate_id}/backtest"): MANAGERS,
    # Trusted by their own signatures, not by a bearer token (agents/alert_replies.py).
    ("GET", "/alerts/ack"): PUBLIC,
    ("POST", "/alerts/ack"): PUBLIC,
    ("POST", "/webhooks/twilio/sms"): PUBLIC,
    # The console (agents/console/): the same roles as the API behind each page, signed in by a
    # session cookie instead of a bearer token.
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("GET", "/console/static/{name}"): PUBLIC,
    ("POST", "/console/logout"): SIGNED_IN,
    ("GET", "/console"): SIGNED_IN,
    ("GET", "/console/"): SIGNED_IN,
    ("GET", "/console/alerts"): MANAGERS,
    ("GET", "/console/alerts/live"): MANAGERS,
    ("GET", "/console/alerts/{alert_id}/chart"): MANAGERS,
    ("POST", "/console/alerts/{alert_id}/ack"): MANAGERS,
    ("POST", "/console/alerts/{alert_id}/resolve"): MANAGERS,
    ("GET", "/console/syndicates/{syndicate_id}"): MANAGERS,
    ("POST", "/console/syndicates/{syndicate_id}"): MANAGERS,
    ("GET", "/console/pools"): MANAGERS,
    ("POST", "/console/pools"): MANAGERS,
    ("GET", "/console/pools/{pool_id}"): MANAGERS,
    **{("POST", f"/console/pools/{{pool_id}}/{command}"): MANAGERS for command in POOL_COMMANDS},
    ("GET", "/console/me"): INVESTORS,
    ("GET", "/console/ops"): WATCHERS,
    ("POST", "/console/ops/dead-letters/replay"): ADMIN_ONLY,
    ("GET", "/console/admin"): ADMIN_ONLY,
}


def allowed_roles(method: str, route: str | None) -> frozenset[Role] | None:
    """The roles a route names; HEAD is GET without a body. None: the route is not declared."""
    if route is None:
        return None
    return POLICY.get(("GET" if method == "HEAD" else method, route))


def is_public(method: str, route: str | None) -> bool:
    return allowed_roles(method, route) is PUBLIC


def authorize(principal: Principal | None, method: str, route: str | None) -> None:
    """Route level: raises Unauthenticated (401) or Forbidden (403); returns when allowed."""
    allowed = allowed_roles(method, route)
    if allowed is PUBLIC:
        return
    if principal is None:
        raise Unauthenticated("authentication required: send Authorization: Bearer <token>")
    if allowed is None or principal.role not in allowed:
        raise Forbidden(f"role {principal.role.value} may not {method} {route or 'this path'}")


def sees_pool(principal: Principal, manager_ids: Iterable[str]) -> bool:
    """Object level: admins see every pool, fund managers the pools they manage."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.FUND_MANAGER and principal.manager_id in set(manager_ids)


def sees_investor(principal: Principal, investor_id: str) -> bool:
    """Investors see only themselves; admins and fund managers (filtered to their pools) anyone."""
    if principal.role is Role.INVESTOR:
        return principal.investor_id == investor_id
    return principal.role in (Role.ADMIN, Role.FUND_MANAGER)


def may_create_pool_for(principal: Principal, manager_id: str) -> bool:
    return principal.role is Role.ADMIN or (
        principal.role is Role.FUND_MANAGER and principal.manager_id == manager_id
    )
