"""The transactions agent: batches from ``transactions`` into the ingestion service, and the relay
that publishes alerts whose publication a crash interrupted."""

from __future__ import annotations

from typing import Any

import faust

from config import Settings
from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.service import Ingestor
from pipeline.platform.consuming import consume


def register(
    app: faust.App,
    topic: Any,
    ingestor: Ingestor,
    publisher: AlertPublisher,
    settings: Settings,
) -> None:
    @app.agent(topic, name="agents.transactions.ingest_transactions")
    async def ingest_transactions(stream):  # type: ignore[no-untyped-def]
        await consume(
            stream, settings.sink_batch_size, settings.sink_batch_seconds, ingestor.handle
        )

    @app.timer(interval=5.0, name="agents.transactions.relay_unpublished_alerts")
    async def relay_unpublished_alerts() -> None:
        await publisher.relay()  # never raises
