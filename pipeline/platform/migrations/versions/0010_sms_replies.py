"""Replies by SMS: a manager's number can be paused (STOP) and resumed (START), SMS rows for a paused
number are ``stopped`` instead of sent, and each inbound message is kept once by its MessageSid, with
the reply it got, so Twilio's retries change nothing.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE fund_managers ADD COLUMN sms_paused_at timestamptz;
        ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_status_check CHECK (status IN
            ('pending', 'sending', 'sent', 'failed', 'held', 'digesting', 'digested', 'stopped'));

        -- One row per inbound SMS: the sender's number only masked (personal data), what it asked
        -- and what it was answered; a retried webhook is answered from here.
        CREATE TABLE inbound_sms (
            message_sid   text PRIMARY KEY,
            from_masked   text NOT NULL,
            command       text NOT NULL,
            reply         text,
            received_at   timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE inbound_sms;
        UPDATE notifications SET status = 'failed' WHERE status = 'stopped';
        ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
        ALTER TABLE notifications ADD CONSTRAINT notifications_status_check CHECK (status IN
            ('pending', 'sending', 'sent', 'failed', 'held', 'digesting', 'digested'));
        ALTER TABLE fund_managers DROP COLUMN sms_paused_at;
        """
    )
