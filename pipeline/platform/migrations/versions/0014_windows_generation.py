"""The spike windows can be rebuilt from PostgreSQL while the workers run: each source partition
has a generation of its windows, moved by ``pulse rebuild --what windows`` (and its version with
it, so the partition's worker reads it afresh). Table records of an older generation are dead: the
worker finds none, and applies again from PostgreSQL everything stored of the partition.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE partition_state ADD COLUMN windows_generation bigint NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE partition_state DROP COLUMN windows_generation")
