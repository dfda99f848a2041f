"""Spikes are judged by evidence as well as by a multiplier: each syndicate may set its own level,
"one in N by chance"; NULL keeps the PULSE_SPIKE_EVIDENCE default.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE syndicates ADD COLUMN spike_evidence numeric(16, 0)
            CHECK (spike_evidence BETWEEN 2 AND 1000000000000000);
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE syndicates DROP COLUMN spike_evidence")
