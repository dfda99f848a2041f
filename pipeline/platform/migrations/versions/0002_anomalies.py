"""Anomaly detection: syndicate settings, spike state, alerts.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- NULL settings fall back to the PULSE_* defaults.
        CREATE TABLE syndicates (
            syndicate_id      text PRIMARY KEY,
            name              text,
            threshold_amount  numeric(20, 2) CHECK (threshold_amount > 0),
            spike_multiplier  numeric(10, 4) CHECK (spike_multiplier > 0),
            spike_min_count   integer CHECK (spike_min_count >= 1),
            enabled           boolean NOT NULL DEFAULT true,
            updated_at        timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX syndicates_updated_at ON syndicates (updated_at);

        -- Whether a stored transaction counts in the spike windows (false: it arrived late).
        ALTER TABLE transactions ADD COLUMN in_spike_window boolean NOT NULL DEFAULT true;
        -- Rebuilding a partition's windows after a restart or rebalance reads this.
        CREATE INDEX transactions_partition_time ON transactions (source_partition, transaction_date)
            WHERE in_spike_window;

        -- Per syndicate: when its history starts (warm-up) and its open spike, written in the
        -- same database transaction as the rows that moved them.
        CREATE TABLE syndicate_activity (
            syndicate_id     text PRIMARY KEY,
            first_event_at   timestamptz NOT NULL,
            spike_open       boolean NOT NULL DEFAULT false,
            alerted_count    integer NOT NULL DEFAULT 0
        );

        -- Per source partition: the newest event time seen (lateness) and a version that tells a
        -- worker whether someone else has written this partition since it last did.
        CREATE TABLE partition_state (
            topic      text NOT NULL,
            partition  integer NOT NULL,
            watermark  timestamptz,
            version    bigint NOT NULL,
            PRIMARY KEY (topic, partition)
        );

        CREATE TABLE alerts (
            alert_id        uuid PRIMARY KEY,
            kind            text NOT NULL CHECK (kind IN ('large_transaction', 'spike')),
            syndicate_id    text NOT NULL,
            transaction_id  text,
            observed        numeric NOT NULL,
            expected        numeric NOT NULL,
            ratio           numeric,
            window_start    timestamptz,
            window_end      timestamptz,
            event_time      timestamptz NOT NULL,
            detected_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
            details         jsonb NOT NULL DEFAULT '{}',
            published_at    timestamptz
        );
        CREATE INDEX alerts_syndicate_time ON alerts (syndicate_id, event_time);
        CREATE INDEX alerts_unpublished ON alerts (detected_at) WHERE published_at IS NULL;
        """
    )
