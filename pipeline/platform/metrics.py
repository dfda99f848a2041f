"""Prometheus metrics: one registry-wide definition of each."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES = Counter(
    "pulse_messages_total", "Messages consumed from transactions, by outcome", ["outcome"]
)
DEAD_LETTERS = Counter(
    "pulse_dead_letters_total", "Messages sent to a dead-letter topic", ["topic", "reason"]
)
SINK_BATCH_SIZE = Histogram(
    "pulse_sink_batch_size",
    "Transactions per database batch",
    buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000),
)
SINK_SECONDS = Histogram(
    "pulse_sink_batch_seconds", "Time to write one batch to PostgreSQL, retries included"
)
SINK_RETRIES = Counter(
    "pulse_sink_retries_total", "Database batches retried after a transient failure"
)
LATE_EVENTS = Counter(
    "pulse_late_events_total", "Transactions stored but too late for the spike windows"
)
WINDOW_CATCH_UPS = Counter(
    "pulse_window_catch_up_rows_total",
    "Stored transactions applied again to the spike windows because their table had missed them",
)
WINDOWS_APPLIED_AGAIN = Counter(
    "pulse_windows_applied_again_total",
    "Batches applied to the spike windows ahead of the insert, then again because some of their"
    " transactions were not new (duplicates, redeliveries)",
)
ALERTS = Counter("pulse_alerts_total", "Alerts raised", ["kind"])
ALERT_LATENCY = Histogram(
    "pulse_alert_latency_seconds",
    "From a transaction's record timestamp to its alert on topic alerts, by kind",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
NOTIFICATIONS = Counter(
    "pulse_notifications_total", "Notification outcomes", ["channel", "outcome"]
)
POOL_COMMANDS = Counter(
    "pulse_pool_commands_total", "Pool commands applied, by HTTP status of the outcome", ["status"]
)
QUARANTINED = Counter(
    "pulse_quarantined_total",
    "Stored rows a service set aside because they could not be processed",
    ["service"],
)
CRASH_GUARDED = Counter(
    "pulse_service_errors_total",
    "Unexpected errors a background service survived (it logs them and goes on)",
    ["service"],
)
