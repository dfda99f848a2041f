"""The transactions agent: batches from ``transactions`` into the ingestion service."""

from __future__ import annotations

from config import get_settings
from pipeline.app import app
from pipeline.ingest import Ingestor
from pipeline.sink import TransactionSink
from pipeline.topics import TRANSACTIONS, TRANSACTIONS_DLQ, faust_topic

settings = get_settings()
transactions_topic = faust_topic(app, TRANSACTIONS)
dlq_topic = faust_topic(app, TRANSACTIONS_DLQ)
ingestor = Ingestor(
    TransactionSink(settings.resolved_database_url()), transactions_topic, dlq_topic
)


@app.agent(transactions_topic)
async def ingest_transactions(stream):  # type: ignore[no-untyped-def]
    async for events in stream.take_events(
        settings.sink_batch_size, within=settings.sink_batch_seconds
    ):
        await ingestor.handle(events)
