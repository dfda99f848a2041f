"""The spike windows move to the Faust table ``spike-windows`` (tables/spike_windows.py): PostgreSQL
no longer keeps their state, nor the index that read a syndicate's window back.

``transactions.in_spike_window`` stays: it records which stored transactions arrived too late to
count. ``partition_state`` stays: its version tells a worker that another wrote a partition, and it
now keeps the newest source offset applied to the partition's windows, so a worker finds what the
table missed and applies those rows again, read by their source position.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP TABLE syndicate_activity;
        DROP INDEX transactions_syndicate_window;
        ALTER TABLE partition_state ADD COLUMN applied_offset bigint;
        CREATE INDEX transactions_source ON transactions (source_partition, source_offset);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE TABLE syndicate_activity (
            syndicate_id     text PRIMARY KEY,
            first_event_at   timestamptz NOT NULL,
            spike_open       boolean NOT NULL DEFAULT false,
            alerted_count    integer NOT NULL DEFAULT 0
        );
        CREATE INDEX transactions_syndicate_window ON transactions (syndicate_id, transaction_date)
            WHERE in_spike_window;
        ALTER TABLE partition_state DROP COLUMN applied_offset;
        DROP INDEX transactions_source;
        """
    )
