"""The route policy and the object-level checks, without a web server."""

from __future__ import annotations

import pytest

from models.access import (
    POLICY,
    PUBLIC,
    Forbidden,
    InvalidUser,
    Principal,
    Role,
    Unauthenticated,
    authorize,
    may_create_pool_for,
    sees_investor,
    sees_pool,
)

ADMIN = Principal("root", Role.ADMIN)
ANN = Principal("ann", Role.FUND_MANAGER, manager_id="m-1")
BEN = Principal("ben", Role.FUND_MANAGER, manager_id="m-2")
IVY = Principal("ivy", Role.INVESTOR, investor_id="i-1")
OPS = Principal("olga", Role.OPS)


# Public: liveness, and the two routes that carry their own signature (an acknowledge link's token,
# Twilio's X-Twilio-Signature), checked by their handlers.
PUBLIC_ROUTES = [
    ("GET", "/health"),
    ("GET", "/alerts/ack"),
    ("POST", "/alerts/ack"),
    ("POST", "/webhooks/twilio/sms"),
    # The console's sign-in form and its stylesheet and script.
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/static/{name}"),
]


def test_every_declared_route_names_at_least_one_role_and_only_these_are_public():
    assert all(roles for roles in POLICY.values())
    assert sorted(route for route, roles in POLICY.items() if roles is PUBLIC) == sorted(
        PUBLIC_ROUTES
    )


@pytest.mark.parametrize(("method", "route"), sorted(POLICY))
def test_anonymous_callers_get_401_everywhere_but_the_public_routes(method: str, route: str):
    if (method, route) in PUBLIC_ROUTES:
        authorize(None, method, route)
    else:
        with pytest.raises(Unauthenticated):
            authorize(None, method, route)


@pytest.mark.parametrize("caller", [ADMIN, ANN, IVY, OPS])
def test_an_undeclared_route_or_method_is_refused_to_everyone(caller: Principal):
    for method, route in [("DELETE", "/pools/{pool_id}"), ("GET", "/admin"), ("PUT", "/pools")]:
        with pytest.raises(Forbidden):
            authorize(caller, method, route)


def test_only_ops_see_stats_metrics_and_readiness():
    for route in ("/", "/metrics", "/ready", "/assignment/", "/table/", "/router/"):
        authorize(OPS, "GET", route)
        authorize(OPS, "HEAD", route)
        for other in (ADMIN, ANN, IVY):
            with pytest.raises(Forbidden):
                authorize(other, "GET", route)


def test_pool_routes_are_for_admins_and_fund_managers_and_investors_read_positions_only():
    for (method, route), roles in POLICY.items():
        if route.startswith("/pools"):
            assert roles == {Role.ADMIN, Role.FUND_MANAGER}, route
            with pytest.raises(Forbidden):
                authorize(IVY, method, route)
            with pytest.raises(Forbidden):
                authorize(OPS, method, route)
    authorize(IVY, "GET", "/investors/{investor_id}/positions")


def test_object_level_rules():
    assert sees_pool(ADMIN, ["m-9"])
    assert sees_pool(ANN, ["m-2", "m-1"])
    assert not sees_pool(BEN, ["m-1"])
    assert not sees_pool(IVY, ["m-1"])
    assert not sees_pool(OPS, ["m-1"])
    assert sees_investor(IVY, "i-1")
    assert not sees_investor(IVY, "i-2")
    assert sees_investor(ANN, "i-2")
    assert sees_investor(ADMIN, "i-2")
    assert not sees_investor(OPS, "i-1")
    assert may_create_pool_for(ANN, "m-1")
    assert not may_create_pool_for(ANN, "m-2")
    assert may_create_pool_for(ADMIN, "m-2")
    assert not may_create_pool_for(IVY, "m-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad Name", "admin"), "user name"),
        (("ann", "root"), "role"),
        (("ann", "fund_manager"), "--manager-id"),
        (("ivy", "investor"), "--investor-id"),
        (("olga", "ops", "m-1"), "only a fund_manager"),
        (("ann", "fund_manager", "m-1", "i-1"), "only an investor"),
        (("ann", "fund_manager", "m" * 129), "1-128"),
    ],
)
def test_user_definitions_are_validated(args: tuple, message: str):
    with pytest.raises(InvalidUser, match=message):
        Principal.define(*args)
    assert Principal.define("ann", "fund_manager", "m-1") == ANN
