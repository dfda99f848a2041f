"""Hostile input and crash paths: unbounded sums, per-syndicate lateness, unambiguous alerts,
an outbox for pool events, fenced notification claims, a settings version that only moves forward.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Sums of valid amounts: any number of transactions of up to 999,999,999,999,999,999.99 each. A
# fixed precision can be overflowed by a legal stream; NUMERIC without one cannot.
_SUMS = {
    "investor_syndicate_totals": ["total_invested"],
    "investor_totals": ["total_invested"],
    "pools": ["committed", "called", "contributed", "distributed"],
    "pool_positions": ["committed", "called", "contributed", "distributed"],
    "capital_calls": ["amount"],
    "call_allocations": ["amount", "paid"],
    "ledger_entries": ["amount"],
}


def upgrade() -> None:
    for table, columns in _SUMS.items():
        alters = ", ".join(f"ALTER COLUMN {c} TYPE numeric" for c in columns)
        op.execute(f"ALTER TABLE {table} {alters}")
    op.execute(
        """
        -- Lateness per syndicate: its watermark is its newest counted event, read from this index
        -- (max over the rows still in_spike_window), so it is never written separately.
        CREATE INDEX transactions_syndicate_window ON transactions (syndicate_id, transaction_date)
            WHERE in_spike_window;
        DROP INDEX IF EXISTS transactions_partition_time;

        -- One alert per trigger, whatever its id: replaying old input under a newer id scheme
        -- finds the alert it raised before.
        CREATE UNIQUE INDEX alerts_trigger ON alerts (kind, syndicate_id, transaction_id);
        -- Set when a stored alert cannot be turned into a message: the relay skips it.
        ALTER TABLE alerts ADD COLUMN publish_error text;

        -- The outbox of topic pool-events: written with the events, emptied by the relay.
        CREATE TABLE pool_events_unpublished (
            pool_id  text NOT NULL,
            seq      integer NOT NULL,
            PRIMARY KEY (pool_id, seq),
            FOREIGN KEY (pool_id, seq) REFERENCES pool_events
        );

        -- A sender's claim: every state change names it, so a sender whose lease ran out cannot
        -- overwrite what the next one did. Digests are claimed the same way.
        ALTER TABLE notifications ADD COLUMN claim_token uuid;
        ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_status_check CHECK (status IN
            ('pending', 'sending', 'sent', 'failed', 'held', 'digesting', 'digested'));
        CREATE INDEX notifications_storm ON notifications (manager_id, channel, storm_window)
            WHERE status IN ('sending', 'sent');

        -- Moved by every change to syndicates, in the changing transaction: writers queue on the
        -- one row, so a reader never sees a newer version without every older change.
        CREATE TABLE syndicate_settings_version (
            singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version    bigint NOT NULL
        );
        INSERT INTO syndicate_settings_version VALUES (true, 1);
        CREATE FUNCTION syndicate_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE syndicate_settings_version SET version = version + 1;
            RETURN NULL;
        END $$;
        CREATE TRIGGER syndicates_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON syndicates FOR EACH STATEMENT EXECUTE FUNCTION syndicate_settings_changed();
        """
    )
