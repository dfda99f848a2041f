"""The one place that builds the Faust app.

``faust -A pipeline.platform.faust_app worker`` and ``pulse worker`` both run this app.
"""

from __future__ import annotations

import faust

from config import Settings, get_settings
from pipeline.platform import faust_transport
from pipeline.platform.logs import logging_config
from pipeline.platform.transport import kafka_credentials
from pipeline.security.middleware import WebSecurity


def create_app(settings: Settings) -> faust.App:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    faust_transport.install(settings.fetch_max_wait_ms)
    security = WebSecurity(settings)
    return faust.App(
        settings.app_id,
        broker=settings.resolved_kafka_url(),
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        autodiscover=["agents", "tables"],
        # Without an origin Faust adds __main__ (the `pulse` script) to discovery; a package origin
        # would scan all of it, migrations included.
        origin="pipeline.platform.faust_app",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        # Joining a group on the embedded broker takes ~30 s with Kafka's defaults.
        broker_rebalance_timeout=3.0,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        # Offsets are only committed for acknowledged events, i.e. after the database
        # commit; committing often keeps the redelivered tail after a crash short.
        broker_commit_interval=settings.commit_interval,
        broker_commit_every=settings.commit_every,
        web_enabled=True,
        # Ops watch the worker through the stats endpoint (`/`) and `/assignment/`.
        web_stats_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.web_bind,
        # Every route, Faust's stats pages included, goes through authentication and the policy.
        web_application_options={
            "middlewares": [security.middleware],
            "client_max_size": settings.max_body_bytes,
        },
        broker_credentials=kafka_credentials(settings),
        producer_linger=0.005,
        logging_config=logging_config(settings.log_level, settings.log_format),
    )


app = create_app(get_settings())
