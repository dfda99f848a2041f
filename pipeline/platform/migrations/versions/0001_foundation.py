"""Foundation: transactions, incremental investor aggregates, dead letters.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE transactions (
            transaction_id      text PRIMARY KEY,
            investor_id         text NOT NULL,
            syndicate_id        text NOT NULL,
            transaction_amount  numeric(20, 2) NOT NULL CHECK (transaction_amount > 0),
            transaction_date    timestamptz NOT NULL,
            currency            char(3) NOT NULL DEFAULT 'USD',
            source_partition    integer NOT NULL,
            source_offset       bigint NOT NULL,
            ingested_at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX transactions_syndicate_time ON transactions (syndicate_id, transaction_date);

        -- Maintained in the same database transaction as the rows they count,
        -- from the rows actually inserted, so redelivery never moves them.
        CREATE TABLE investor_syndicate_totals (
            investor_id        text NOT NULL,
            syndicate_id       text NOT NULL,
            total_invested     numeric(24, 2) NOT NULL,
            transaction_count  bigint NOT NULL,
            PRIMARY KEY (investor_id, syndicate_id)
        );
        CREATE TABLE investor_totals (
            investor_id        text PRIMARY KEY,
            syndicate_count    integer NOT NULL,
            total_invested     numeric(24, 2) NOT NULL,
            transaction_count  bigint NOT NULL,
            updated_at         timestamptz NOT NULL DEFAULT now()
        );
        -- The top-N query reads the first rows of this index and stops.
        CREATE INDEX investor_totals_rank
            ON investor_totals (syndicate_count DESC, total_invested DESC, investor_id ASC);

        CREATE TABLE dead_letters (
            dead_letter_id  uuid PRIMARY KEY,
            topic           text NOT NULL,
            partition       integer NOT NULL,
            "offset"        bigint NOT NULL,
            reason          text NOT NULL,
            detail          text NOT NULL,
            message_key     bytea,
            message_value   bytea,
            received_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX dead_letters_reason ON dead_letters (topic, reason);
        """
    )
