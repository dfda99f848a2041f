"""The one place that configures a Faust app. The composition root (``pipeline.bootstrap``) calls
it and registers the agents; nothing here runs at import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust

from config import Settings
from pipeline.platform import faust_transport
from pipeline.platform.logs import logging_config
from pipeline.platform.transport import kafka_credentials


class ServiceWorker(faust.Worker):
    """Faust's worker without its terminal spinner. At a log level of warn or above the spinner
    sets the root logger to DEBUG, so every debug call in Faust and aiokafka (several per fetch,
    send and table write) builds a log record only to turn a character on a terminal that a
    service does not have: a few percent of the worker's CPU (docs/PERFORMANCE.md)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None


def create_app(settings: Settings, middlewares: Sequence[Any] = ()) -> faust.App:
    """The app, without agents. ``middlewares`` wrap every route, Faust's own pages included."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    faust_transport.install(settings.fetch_max_wait_ms)
    return faust.App(
        settings.app_id,
        broker=settings.resolved_kafka_url(),
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        # The composition root registers every agent, timer and page; nothing is discovered.
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        # Joining a group on the embedded broker takes ~30 s with Kafka's defaults, and a
        # replacement for a killed worker joins only once the dead member's session has expired:
        # the session timeout bounds recovery (docs/PERFORMANCE.md). Heartbeats come from the
        # consumer's own thread, so a busy event loop does not miss them.
        broker_rebalance_timeout=3.0,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(1.0, settings.session_timeout / 3),
        # Offsets are only committed for acknowledged events, i.e. after the database
        # commit; committing often keeps the redelivered tail after a crash short.
        broker_commit_interval=settings.commit_interval,
        broker_commit_every=settings.commit_every,
        # The batch path hands each fetch to its handler: this bounds a batch.
        broker_max_poll_records=settings.sink_batch_size,
        web_enabled=True,
        # Ops watch the worker through the stats endpoint (`/`) and `/assignment/`.
        web_stats_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.web_bind,
        web_application_options={
            "middlewares": list(middlewares),
            "client_max_size": settings.max_body_bytes,
        },
        broker_credentials=kafka_credentials(settings),
        producer_linger=0.005,
        # A changelog can hold less than a worker's own RocksDB copy of it (the embedded broker
        # keeps topics in memory only): Faust would take that for lost data and crash. The spike
        # windows find and make up whatever their table misses (pipeline.alerts.detection).
        recovery_consistency_check=False,
        # A standby copy makes failover fast, and costs each worker the other's changelog records
        # (docs/PERFORMANCE.md measures both).
        table_standby_replicas=settings.table_standby_replicas,
        logging_config=logging_config(settings.log_level, settings.log_format),
        Worker=ServiceWorker,
    )
