"""Alert delivery: fund managers, their syndicates, and the notification outbox.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE fund_managers (
            manager_id   uuid PRIMARY KEY,
            name         text NOT NULL,
            phone        text,
            email        text,
            channels     text[] NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE syndicate_managers (
            syndicate_id  text NOT NULL,
            manager_id    uuid NOT NULL REFERENCES fund_managers ON DELETE CASCADE,
            PRIMARY KEY (syndicate_id, manager_id)
        );

        -- One row per (alert, recipient, channel): a redelivered alert changes nothing.
        CREATE TABLE notifications (
            notification_id      uuid PRIMARY KEY,
            alert_id             uuid NOT NULL,
            manager_id           uuid NOT NULL REFERENCES fund_managers ON DELETE CASCADE,
            channel              text NOT NULL CHECK (channel IN ('sms', 'email', 'log')),
            alert                jsonb NOT NULL,
            -- pending → sending → sent | failed; held: over the storm limit, folded into a digest.
            status               text NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'held', 'digested')),
            attempts             integer NOT NULL DEFAULT 0,
            next_attempt_at      timestamptz NOT NULL DEFAULT now(),
            lease_until          timestamptz,
            storm_window         timestamptz,
            provider_message_id  text,
            last_error           text,
            created_at           timestamptz NOT NULL DEFAULT now(),
            sent_at              timestamptz,
            updated_at           timestamptz NOT NULL DEFAULT now(),
            UNIQUE (alert_id, manager_id, channel)
        );
        CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
        CREATE INDEX notifications_held ON notifications (manager_id, channel, storm_window) WHERE status = 'held';
        CREATE INDEX notifications_sent ON notifications (manager_id, channel, sent_at) WHERE status = 'sent';
        """
    )
