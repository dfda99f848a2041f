"""The composition root: settings → the Faust app → stores and services → agents.

The one place that wires the worker. Importing any module of the project does nothing beyond
defining things; ``bootstrap(settings)`` builds a worker for those settings, so tests and tools build
one with other settings directly, without environment tricks.
"""

from __future__ import annotations

import gc
import sys
from datetime import timedelta

import faust

from agents import alert_replies, alerts, console, ops, pools, transactions
from config import Settings
from pipeline.alerts.detection import AnomalyDetector
from pipeline.alerts.publisher import AlertPublisher
from pipeline.ingest.history import PartitionKeeper
from pipeline.ingest.service import Ingestor
from pipeline.ingest.sink import TransactionSink
from pipeline.notify.escalation import Escalator
from pipeline.notify.inbound import SmsReplies
from pipeline.notify.router import AlertRouter
from pipeline.platform.batches import configure_batches
from pipeline.platform.db import LazyPool
from pipeline.platform.dead_letters import DeadLetterOffice
from pipeline.platform.faust_app import create_app
from pipeline.platform.partitioning import KeyPartitioner
from pipeline.platform.topics import TRANSACTIONS, FaustTopics
from pipeline.pools.api import PoolApi
from pipeline.pools.commands import PoolCommandHandler
from pipeline.pools.publisher import PoolEventPublisher
from pipeline.security.middleware import WebSecurity
from tables.spike_windows import SpikeWindows


def bootstrap(settings: Settings) -> faust.App:
    """A worker's app with every agent, timer, task and page registered, ready to run."""
    database_url = settings.resolved_database_url()
    security = WebSecurity(settings)
    app = create_app(settings, [security.middleware])
    configure_batches(app, settings.sink_batch_size, settings.sink_batch_seconds)
    topics = FaustTopics.of(app)
    # One office for the dead letters of the internal topics (alerts, pool-commands).
    dead_letters = DeadLetterOffice(LazyPool(lambda: database_url, max_size=1), topics.internal_dlq)
    _wire_transactions(app, settings, topics)
    alerts_database = LazyPool(lambda: database_url, max_size=4)
    # The read-only paths (listings, console pages): the replica when there is one.
    reads = LazyPool(settings.resolved_read_url, max_size=4)
    twilio_token = settings.twilio_auth_token
    alert_replies.register(
        app,
        settings,
        alerts_database,
        SmsReplies(
            alerts_database,
            None if twilio_token is None else twilio_token.get_secret_value(),
            settings.resolved_public_url(),
        ),
    )
    alerts.register(
        app,
        topics.alerts,
        AlertRouter(
            LazyPool(lambda: database_url, max_size=2),
            dead_letters,
            settings.default_escalate_after,
        ),
        settings if settings.notifier_in_worker else None,
        settings,
        alerts_database,
        reads,
        settings.max_body_bytes,
        Escalator(LazyPool(lambda: database_url, max_size=1), settings.default_escalate_after),
    )
    pools_api = _wire_pools(app, settings, topics, dead_letters)
    ops.register(app, database_url)
    console.register(app, settings, security.sessions, alerts_database, reads, pools_api)
    return app


def _wire_transactions(app: faust.App, settings: Settings, topics: FaustTopics) -> None:
    database_url = settings.resolved_database_url()
    windows = SpikeWindows.define(
        app,
        TRANSACTIONS.name,
        TRANSACTIONS.partition_count(settings.topic_partitions),
        settings.late_event_seconds * 1_000_000,
    )
    detector = AnomalyDetector(settings, windows)
    publisher = AlertPublisher(database_url, topics.alerts, detector.rules)

    async def partition_count() -> int | None:
        producer = app.producer._ensure_producer()  # aiokafka's: its partitions_for is public
        return len(await producer.partitions_for(TRANSACTIONS.name))

    ingestor = Ingestor(
        TransactionSink(database_url, detector),
        topics.transactions,
        topics.transactions_dlq,
        publisher,
        KeyPartitioner(partition_count),
        timedelta(seconds=settings.max_future_seconds),
    )
    transactions.register(
        app,
        topics.transactions,
        ingestor,
        publisher,
        PartitionKeeper(database_url, settings.partition_months_ahead),
    )


def _wire_pools(
    app: faust.App, settings: Settings, topics: FaustTopics, dead_letters: DeadLetterOffice
) -> PoolApi:
    """The pools' agent and routes; returns the API the console's forms share."""
    database_url = settings.resolved_database_url()
    publisher = PoolEventPublisher(database_url, topics.pool_events)
    handler = PoolCommandHandler(database_url, publisher, dead_letters)
    api = PoolApi(
        database_url,
        topics.pool_commands,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        read_url=settings.resolved_read_url(),
    )
    pools.register(app, topics.pool_commands, handler, publisher, api, settings.max_body_bytes)
    return api


def use_fast_loop() -> None:
    """uvloop for the worker (Faust's ``-L uvloop``): about 15% off every await on the hot path.
    Call before anything creates an event loop."""
    import mode.loop

    mode.loop.use("uvloop")


# The cyclic garbage collector's thresholds for a worker: a young-generation pass every 100,000 net
# allocations of container objects instead of 700. A worker allocates a few per transaction (decoded
# records, rows, window copies) and holds many long-lived ones (every syndicate's window), so at the
# default the collector ran hundreds of times a second for nothing: objects are freed by reference
# counting, and what a cycle holds is found at the next pass. The older generations keep their
# default ratios, so a full pass still comes every few minutes under load. 10-25% more transactions
# a second (docs/PERFORMANCE.md).
WORKER_GC_THRESHOLD = (100_000, 10, 10)


def run_worker(app: faust.App, settings: Settings) -> None:
    """Run the app as Faust's ``worker`` command would, with our log level and web port."""
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    sys.argv = [
        sys.argv[0],
        "worker",
        "--loglevel",
        settings.log_level,
        "--web-port",
        str(settings.web_port),
    ]
    app.main()
