"""The alerts agent: alerts → notification outbox; and the sender, inside the worker by default."""

from __future__ import annotations

from typing import Any

import faust

from config import Settings
from pipeline.notify.router import AlertRouter
from pipeline.platform.batches import route_batches


def register(
    app: faust.App, topic: Any, router: AlertRouter, notifier_settings: Settings | None
) -> None:
    """``notifier_settings``: run the notification sender in this worker with these settings."""

    route_batches(app, topic, router.handle, "agents.alerts.route_alerts")

    if notifier_settings is not None:

        @app.task
        async def run_notifier() -> None:
            from pipeline.notify.sender import Notifier

            await Notifier(notifier_settings).run()
