"""The transactions agent: batches from ``transactions`` into the ingestion service, and the relay
that publishes alerts whose publication a crash interrupted."""

from __future__ import annotations

from typing import Any

import faust

from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.service import Ingestor
from pipeline.platform.batches import route_batches


def register(
    app: faust.App,
    topic: Any,
    ingestor: Ingestor,
    publisher: AlertPublisher,
) -> None:
    route_batches(app, topic, ingestor.handle, "agents.transactions.ingest_transactions")

    @app.timer(interval=5.0, name="agents.transactions.relay_unpublished_alerts")
    async def relay_unpublished_alerts() -> None:
        await publisher.relay()  # never raises
