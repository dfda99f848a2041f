"""The transactions agent: batches from ``transactions`` into the ingestion service."""

from __future__ import annotations

from config import get_settings
from pipeline.alert_outbox import AlertPublisher
from pipeline.app import app
from pipeline.detection import AnomalyDetector
from pipeline.ingest import Ingestor
from pipeline.sink import TransactionSink
from pipeline.topics import ALERTS, TRANSACTIONS, TRANSACTIONS_DLQ, faust_topic

settings = get_settings()
database_url = settings.resolved_database_url()
transactions_topic = faust_topic(app, TRANSACTIONS)
dlq_topic = faust_topic(app, TRANSACTIONS_DLQ)
alerts_topic = faust_topic(app, ALERTS)
detector = AnomalyDetector(settings)
alert_publisher = AlertPublisher(database_url, alerts_topic, detector.rules)
ingestor = Ingestor(
    TransactionSink(database_url, detector), transactions_topic, dlq_topic, alert_publisher
)


@app.agent(transactions_topic)
async def ingest_transactions(stream):  # type: ignore[no-untyped-def]
    async for events in stream.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        await ingestor.handle(events)


@app.timer(interval=5.0)
async def relay_unpublished_alerts() -> None:
    await alert_publisher.relay()
