"""Alerts that get handled: a status, who acknowledged and when, every transition kept, and the
escalation levels with their stored deadlines.

Existing alerts start ``open`` at level 1 with no deadline: escalation applies to alerts routed
from now on, not to history.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE alerts
            ADD COLUMN status text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'acknowledged', 'resolved')),
            ADD COLUMN acknowledged_by text,
            ADD COLUMN acknowledged_at timestamptz,
            ADD COLUMN resolved_by text,
            ADD COLUMN resolved_at timestamptz,
            ADD COLUMN escalation_level integer NOT NULL DEFAULT 1 CHECK (escalation_level >= 1),
            -- When the next level is due, while the alert is open; NULL: nothing more to do.
            ADD COLUMN escalate_at timestamptz;
        CREATE INDEX alerts_escalation_due ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;
        CREATE INDEX alerts_status_time ON alerts (status, event_time);

        -- Every change of an alert's status: who, when, how, and why.
        CREATE TABLE alert_transitions (
            transition_id  uuid PRIMARY KEY,
            alert_id       uuid NOT NULL REFERENCES alerts ON DELETE CASCADE,
            from_status    text NOT NULL,
            to_status      text NOT NULL,
            actor          text NOT NULL,
            via            text NOT NULL CHECK (via IN ('cli', 'http', 'sms', 'email')),
            note           text,
            at             timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, at);

        -- Level 1 hears of every alert; level N once it has been open for (N - 1) deadlines.
        ALTER TABLE syndicate_managers
            ADD COLUMN level integer NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 10);
        -- Seconds an alert may stay open before the next level hears of it; 0: never escalate;
        -- NULL: PULSE_DEFAULT_ESCALATE_AFTER.
        ALTER TABLE syndicates
            ADD COLUMN escalate_after integer CHECK (escalate_after >= 0);
        -- An escalation is a notification of its own: the level it was sent for.
        ALTER TABLE notifications ADD COLUMN level integer NOT NULL DEFAULT 1;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE notifications DROP COLUMN level;
        ALTER TABLE syndicates DROP COLUMN escalate_after;
        ALTER TABLE syndicate_managers DROP COLUMN level;
        DROP TABLE alert_transitions;
        DROP INDEX alerts_status_time;
        DROP INDEX alerts_escalation_due;
        ALTER TABLE alerts
            DROP COLUMN status,
            DROP COLUMN acknowledged_by,
            DROP COLUMN acknowledged_at,
            DROP COLUMN resolved_by,
            DROP COLUMN resolved_at,
            DROP COLUMN escalation_level,
            DROP COLUMN escalate_at;
        """
    )
