"""The console: users sign in with a password (argon2id, as API keys), sessions are rows that can be
revoked, an alert can be handled from the console, and the console's live list asks what changed
since a moment without scanning every alert.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE api_users ADD COLUMN password_hash text, ADD COLUMN password_set_at timestamptz;

        -- Only a hash of each session's secret is kept: a copy of this table signs nobody in.
        CREATE TABLE console_sessions (
            session_hash  text PRIMARY KEY,
            username      text NOT NULL REFERENCES api_users ON DELETE CASCADE,
            csrf_token    text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            expires_at    timestamptz NOT NULL,
            revoked_at    timestamptz
        );
        CREATE INDEX console_sessions_user ON console_sessions (username) WHERE revoked_at IS NULL;

        ALTER TABLE alert_transitions DROP CONSTRAINT alert_transitions_via_check;
        ALTER TABLE alert_transitions ADD CONSTRAINT alert_transitions_via_check
            CHECK (via IN ('cli', 'http', 'sms', 'email', 'console'));
        CREATE INDEX alerts_detected ON alerts (detected_at);
        CREATE INDEX alert_transitions_at ON alert_transitions (at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX alert_transitions_at;
        DROP INDEX alerts_detected;
        UPDATE alert_transitions SET via = 'http' WHERE via = 'console';
        ALTER TABLE alert_transitions DROP CONSTRAINT alert_transitions_via_check;
        ALTER TABLE alert_transitions ADD CONSTRAINT alert_transitions_via_check
            CHECK (via IN ('cli', 'http', 'sms', 'email'));
        DROP TABLE console_sessions;
        ALTER TABLE api_users DROP COLUMN password_set_at, DROP COLUMN password_hash;
        """
    )
