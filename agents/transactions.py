"""The transactions agent: batches from ``transactions`` into the ingestion service."""

from __future__ import annotations

from datetime import timedelta

from config import get_settings
from pipeline.alerts.detection import AnomalyDetector
from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.service import Ingestor
from pipeline.ingest.sink import TransactionSink
from pipeline.platform.consuming import consume
from pipeline.platform.faust_app import app
from pipeline.platform.partitioning import KeyPartitioner
from pipeline.platform.topics import ALERTS, TRANSACTIONS, TRANSACTIONS_DLQ, faust_topic

settings = get_settings()
database_url = settings.resolved_database_url()
transactions_topic = faust_topic(app, TRANSACTIONS)
dlq_topic = faust_topic(app, TRANSACTIONS_DLQ)
alerts_topic = faust_topic(app, ALERTS)
detector = AnomalyDetector(settings)
alert_publisher = AlertPublisher(database_url, alerts_topic, detector.rules)


async def _partition_count() -> int | None:
    producer = app.producer._ensure_producer()  # aiokafka's producer: its partitions_for is public
    return len(await producer.partitions_for(TRANSACTIONS.name))


ingestor = Ingestor(
    TransactionSink(database_url, detector),
    transactions_topic,
    dlq_topic,
    alert_publisher,
    KeyPartitioner(_partition_count),
    timedelta(seconds=settings.max_future_seconds),
)


@app.agent(transactions_topic)
async def ingest_transactions(stream):  # type: ignore[no-untyped-def]
    await consume(stream, settings.sink_batch_size, settings.sink_batch_seconds, ingestor.handle)


@app.timer(interval=5.0)
async def relay_unpublished_alerts() -> None:
    await alert_publisher.relay()  # never raises
