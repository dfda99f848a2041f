"""The console's routes: thin adapters between forms and the same services the API uses.

The middleware has signed the caller in from their session cookie, checked the route's roles
(``models.access.POLICY``) and, for every POST, the origin and the session's CSRF token. What is left
here is the object-level check: another manager's alert, syndicate or pool is a 404 page, exactly as
one that does not exist.
"""

from __future__ import annotations

import faust

from agents.console.alerts import AlertChart, Alerts, LiveAlerts, act_view
from agents.console.pages import ConsolePage, Home, Static
from agents.console.people import Admin, Me, Operations, ReplayDeadLetters
from agents.console.pools import OnePool, Pools, command_page
from agents.console.sign_in import Login, Logout
from agents.console.syndicates import Syndicate
from config import Settings
from models.alert_status import Action
from pipeline.platform.db import LazyPool
from pipeline.pools.api import POOL_COMMAND_BODIES, PoolApi
from pipeline.security.sessions import Sessions

ROUTES: list[tuple[str, type[ConsolePage]]] = [
    ("/console/login", Login),
    ("/console/logout", Logout),
    ("/console", Home),
    ("/console/", Home),
    ("/console/static/{name}", Static),
    ("/console/alerts", Alerts),
    ("/console/alerts/live", LiveAlerts),
    ("/console/alerts/{alert_id}/chart", AlertChart),
    ("/console/alerts/{alert_id}/ack", act_view(Action.ACKNOWLEDGE)),
    ("/console/alerts/{alert_id}/resolve", act_view(Action.RESOLVE)),
    ("/console/syndicates/{syndicate_id}", Syndicate),
    ("/console/pools", Pools),
    ("/console/pools/{pool_id}", OnePool),
    *((f"/console/pools/{{pool_id}}/{name}", command_page(name)) for name in POOL_COMMAND_BODIES),
    ("/console/me", Me),
    ("/console/ops", Operations),
    ("/console/ops/dead-letters/replay", ReplayDeadLetters),
    ("/console/admin", Admin),
]


def register(
    app: faust.App,
    settings: Settings,
    sessions: Sessions,
    database: LazyPool,
    reads: LazyPool,
    pools_api: PoolApi,
) -> None:
    bound = {
        "sessions": sessions,
        "database": database,
        "reads": reads,
        "pools_api": pools_api,
        "settings": settings,
    }
    for path, view in ROUTES:
        app.page(path)(type(view.__name__, (view,), bound))
