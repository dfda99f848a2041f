"""The alerts agent: alerts → notification outbox; and the sender, inside the worker by default."""

from __future__ import annotations

from config import get_settings
from pipeline.alert_router import AlertRouter
from pipeline.app import app
from pipeline.topics import ALERTS, faust_topic

settings = get_settings()
router = AlertRouter(settings.resolved_database_url())


@app.agent(faust_topic(app, ALERTS))
async def route_alerts(stream):  # type: ignore[no-untyped-def]
    async for events in stream.take_events(500, within=0.01):
        await router.handle(events)


if settings.notifier_in_worker:

    @app.task
    async def run_notifier() -> None:
        from pipeline.notifier import Notifier

        await Notifier(settings).run()
