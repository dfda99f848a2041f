"""Investment pools: append-only event log, double-entry ledger, projections, command outcomes.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pool_events (
            pool_id          text NOT NULL,
            seq              integer NOT NULL,
            event_id         uuid NOT NULL UNIQUE,
            idempotency_key  text NOT NULL UNIQUE,
            type             text NOT NULL,
            payload          jsonb NOT NULL,
            recorded_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (pool_id, seq)
        );
        -- Append-only: the log is the truth the projections are rebuilt from.
        CREATE FUNCTION pool_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'pool_events is append-only';
        END $$;
        CREATE TRIGGER pool_events_no_update BEFORE UPDATE OR DELETE ON pool_events
            FOR EACH ROW EXECUTE FUNCTION pool_events_append_only();

        CREATE TABLE ledger_entries (
            pool_id   text NOT NULL,
            seq       integer NOT NULL,
            line      integer NOT NULL,
            account   text NOT NULL,
            amount    numeric(20, 2) NOT NULL,  -- debit positive, credit negative
            currency  char(3) NOT NULL,
            PRIMARY KEY (pool_id, seq, line),
            FOREIGN KEY (pool_id, seq) REFERENCES pool_events
        );
        CREATE INDEX ledger_entries_account ON ledger_entries (pool_id, account);

        CREATE TABLE pools (
            pool_id      text PRIMARY KEY,
            name         text NOT NULL,
            currency     char(3) NOT NULL,
            target_size  numeric(20, 2) NOT NULL,
            hard_cap     numeric(20, 2) NOT NULL,
            manager_ids  text[] NOT NULL,
            status       text NOT NULL,
            seq          integer NOT NULL,
            committed    numeric(20, 2) NOT NULL DEFAULT 0,
            called       numeric(20, 2) NOT NULL DEFAULT 0,
            contributed  numeric(20, 2) NOT NULL DEFAULT 0,
            distributed  numeric(20, 2) NOT NULL DEFAULT 0,
            updated_at   timestamptz NOT NULL DEFAULT now(),
            CHECK (committed <= hard_cap),
            CHECK (0 <= contributed AND contributed <= called AND called <= committed)
        );
        CREATE TABLE pool_positions (
            pool_id      text NOT NULL REFERENCES pools,
            investor_id  text NOT NULL,
            committed    numeric(20, 2) NOT NULL,
            called       numeric(20, 2) NOT NULL,
            contributed  numeric(20, 2) NOT NULL,
            distributed  numeric(20, 2) NOT NULL,
            PRIMARY KEY (pool_id, investor_id),
            CHECK (0 <= contributed AND contributed <= called AND called <= committed)
        );
        CREATE INDEX pool_positions_investor ON pool_positions (investor_id);
        CREATE TABLE capital_calls (
            call_id   text PRIMARY KEY,
            pool_id   text NOT NULL REFERENCES pools,
            amount    numeric(20, 2) NOT NULL,
            due_date  text NOT NULL,
            seq       integer NOT NULL
        );
        CREATE TABLE call_allocations (
            call_id      text NOT NULL REFERENCES capital_calls,
            investor_id  text NOT NULL,
            amount       numeric(20, 2) NOT NULL,
            paid         numeric(20, 2) NOT NULL DEFAULT 0,
            PRIMARY KEY (call_id, investor_id),
            CHECK (0 <= paid AND paid <= amount)
        );

        -- The answer to each command, by Idempotency-Key: a retry gets the same answer.
        CREATE TABLE pool_commands (
            idempotency_key  text PRIMARY KEY,
            request_hash     text NOT NULL,
            pool_id          text NOT NULL,
            status_code      integer NOT NULL,
            response         jsonb NOT NULL,
            applied_at       timestamptz NOT NULL DEFAULT now()
        );
        """
    )
