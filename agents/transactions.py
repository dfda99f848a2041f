"""The transactions agent: batches from ``transactions`` into the ingestion service, the relay
that publishes alerts whose publication a crash interrupted, and the monthly partitions of history
made ahead of time."""

from __future__ import annotations

from typing import Any

import faust

from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.history import PartitionKeeper
from pipeline.ingest.service import Ingestor
from pipeline.platform.batches import route_batches


def register(
    app: faust.App,
    topic: Any,
    ingestor: Ingestor,
    publisher: AlertPublisher,
    partitions: PartitionKeeper,
) -> None:
    route_batches(
        app,
        topic,
        ingestor.handle,
        "agents.transactions.ingest_transactions",
        prepare=ingestor.triage,
    )

    @app.timer(interval=5.0, name="agents.transactions.relay_unpublished_alerts")
    async def relay_unpublished_alerts() -> None:
        await publisher.relay()  # never raises

    @app.task
    async def make_partitions_at_start() -> None:
        await partitions.keep()  # never raises

    @app.timer(interval=3600.0, name="agents.transactions.make_partitions_ahead")
    async def make_partitions_ahead() -> None:
        await partitions.keep()
