"""Row-level security on pools and positions: a second line behind the API's own object checks.

The API sets ``pulse.manager_id`` (fund managers) or ``pulse.investor_id`` (investors) for the
transaction of each read it makes for such a caller; PostgreSQL then returns only their rows, whatever
the query says. Connections that set neither (the pool agent, reconciliation, admins) see every row.
RLS binds the application's role (``pulse db grant``), not the tables' owner.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MANAGER = "coalesce(current_setting('pulse.manager_id', true), '')"
_INVESTOR = "coalesce(current_setting('pulse.investor_id', true), '')"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE pools ENABLE ROW LEVEL SECURITY;
        CREATE POLICY caller_scope ON pools USING (
            CASE
                WHEN {_INVESTOR} <> '' THEN false
                WHEN {_MANAGER} <> '' THEN {_MANAGER} = ANY (manager_ids)
                ELSE true
            END
        );
        ALTER TABLE pool_positions ENABLE ROW LEVEL SECURITY;
        CREATE POLICY caller_scope ON pool_positions USING (
            CASE
                WHEN {_INVESTOR} <> '' THEN investor_id = {_INVESTOR}
                WHEN {_MANAGER} <> '' THEN EXISTS (
                    SELECT 1 FROM pools p
                    WHERE p.pool_id = pool_positions.pool_id AND {_MANAGER} = ANY (p.manager_ids)
                )
                ELSE true
            END
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP POLICY caller_scope ON pool_positions;
        ALTER TABLE pool_positions DISABLE ROW LEVEL SECURITY;
        DROP POLICY caller_scope ON pools;
        ALTER TABLE pools DISABLE ROW LEVEL SECURITY;
        """
    )
