"""The alerts agent: alerts → notification outbox; and the sender, inside the worker by default."""

from __future__ import annotations

from config import get_settings
from pipeline.notify.router import AlertRouter
from pipeline.platform.consuming import consume
from pipeline.platform.db import LazyPool
from pipeline.platform.dead_letters import internal_office
from pipeline.platform.faust_app import app
from pipeline.platform.topics import ALERTS, faust_topic

settings = get_settings()
router = AlertRouter(LazyPool(settings.resolved_database_url, max_size=2), internal_office(app))


@app.agent(faust_topic(app, ALERTS))
async def route_alerts(stream):  # type: ignore[no-untyped-def]
    await consume(stream, 500, 0.01, router.handle)


if settings.notifier_in_worker:

    @app.task
    async def run_notifier() -> None:
        from pipeline.notify.sender import Notifier

        await Notifier(settings).run()
