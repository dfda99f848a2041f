"""History that can grow for years: ``transactions`` is partitioned by month of ``transaction_date``
(UTC months), with a default partition so no row is ever refused for a month that has none.

PostgreSQL has no unique index across partitions, so idempotency moves to ``transaction_keys``: one
row per ``transaction_id`` whatever its date, with the row's source position and a fingerprint of
its content. The sink inserts the key first and the row only if the key was new, in the same
database transaction as before; a redelivery is a no-op and a duplicate id with other content (in
another month too, or in a partition since detached) is told apart by its fingerprint.

Partitions are made by ``pulse_ensure_transaction_partitions``, owned by the schema owner and run
with its rights (SECURITY DEFINER), so the workers' role, which has no DDL, can make the months
ahead of time; a month that already has rows in the default partition gets them moved out.

Detached partitions (``pulse db partitions detach``) leave their per-pair sums in
``transaction_archive_totals``: the aggregates keep counting them, and ``pulse verify`` checks the
aggregates against the attached rows plus these.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The months of existing rows that get a partition of their own; rows outside stay in the default.
_OLDEST_OWN_MONTH = "2000-01-01"
_MONTHS_AHEAD = 3


def upgrade() -> None:
    op.execute(
        """
        -- The content of a transaction, as the conflict check compares it. The composite's text
        -- quotes every field that needs it, so no id with separators collides with another.
        CREATE FUNCTION transaction_fingerprint(
            investor_id text, syndicate_id text, amount numeric, moment timestamptz, currency text
        ) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT md5(row(investor_id, syndicate_id, amount, extract(epoch FROM moment),
                           currency)::text)::uuid
        $$;

        CREATE TABLE transaction_keys (
            transaction_id    text PRIMARY KEY,
            transaction_date  timestamptz NOT NULL,
            fingerprint       uuid NOT NULL,
            source_partition  integer NOT NULL,
            source_offset     bigint NOT NULL
        );

        CREATE TABLE transactions_partitioned (
            transaction_id      text NOT NULL,
            investor_id         text NOT NULL,
            syndicate_id        text NOT NULL,
            transaction_amount  numeric(20, 2) NOT NULL CHECK (transaction_amount > 0),
            transaction_date    timestamptz NOT NULL,
            currency            char(3) NOT NULL DEFAULT 'USD',
            source_partition    integer NOT NULL,
            source_offset       bigint NOT NULL,
            ingested_at         timestamptz NOT NULL DEFAULT now(),
            in_spike_window     boolean NOT NULL DEFAULT true,
            PRIMARY KEY (transaction_id, transaction_date)
        ) PARTITION BY RANGE (transaction_date);
        CREATE TABLE transactions_default PARTITION OF transactions_partitioned DEFAULT;

        -- Archived months: their rows are gone from transactions, their sums are not.
        CREATE TABLE transaction_archives (
            partition_name  text PRIMARY KEY,
            month           date NOT NULL UNIQUE,
            row_count       bigint NOT NULL,
            detached_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE transaction_archive_totals (
            investor_id        text NOT NULL,
            syndicate_id       text NOT NULL,
            total_invested     numeric NOT NULL,
            transaction_count  bigint NOT NULL,
            PRIMARY KEY (investor_id, syndicate_id)
        );

        CREATE FUNCTION pulse_ensure_transaction_partitions(first_month date, last_month date)
        RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
        DECLARE
            m date := date_trunc('month', first_month)::date;
            part text;
            lower_bound timestamptz;
            upper_bound timestamptz;
            parent regclass := 'transactions'::regclass;
        BEGIN
            IF last_month - first_month > 3660 THEN
                RAISE EXCEPTION 'at most ten years of partitions at once';
            END IF;
            -- Workers starting together would race to make the same month: one at a time.
            PERFORM pg_advisory_xact_lock(hashtext('pulse.partitions'));
            WHILE m <= last_month LOOP
                part := format('transactions_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
                IF to_regclass(part) IS NULL
                   AND NOT EXISTS (SELECT 1 FROM transaction_archives a WHERE a.month = m) THEN
                    lower_bound := (m::timestamp AT TIME ZONE 'UTC');
                    upper_bound := ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
                    -- Made outside the table, filled from the default partition, then attached:
                    -- the default must hold no row of the month when it is attached.
                    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS,'
                                   ' CHECK (transaction_date >= %L AND transaction_date < %L))',
                                   part, parent, lower_bound, upper_bound);
                    EXECUTE format('WITH moved AS (DELETE FROM transactions_default'
                                   ' WHERE transaction_date >= %L AND transaction_date < %L'
                                   ' RETURNING *) INSERT INTO %I SELECT * FROM moved',
                                   lower_bound, upper_bound, part);
                    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                                   parent, part, lower_bound, upper_bound);
                    RETURN NEXT part;
                END IF;
                m := (m + interval '1 month')::date;
            END LOOP;
        END $$;
        """
    )
    # The new table takes the old one's name first, so the function's 'transactions' is it.
    op.execute(
        """
        ALTER TABLE transactions RENAME TO transactions_unpartitioned;
        ALTER TABLE transactions_partitioned RENAME TO transactions;
        ALTER INDEX transactions_partitioned_pkey RENAME TO transactions_pkey_by_month;
        """
    )
    op.execute(
        f"""
        SELECT pulse_ensure_transaction_partitions(m, m)
        FROM (SELECT DISTINCT date_trunc('month', transaction_date AT TIME ZONE 'UTC')::date AS m
              FROM transactions_unpartitioned) AS months
        WHERE m >= date '{_OLDEST_OWN_MONTH}'
          AND m <= (now() AT TIME ZONE 'UTC')::date + interval '{_MONTHS_AHEAD} months';
        SELECT pulse_ensure_transaction_partitions(
            (now() AT TIME ZONE 'UTC')::date,
            ((now() AT TIME ZONE 'UTC')::date + interval '{_MONTHS_AHEAD} months')::date);

        INSERT INTO transactions (transaction_id, investor_id, syndicate_id, transaction_amount,
                                  transaction_date, currency, source_partition, source_offset,
                                  ingested_at, in_spike_window)
        SELECT transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date,
               currency, source_partition, source_offset, ingested_at, in_spike_window
        FROM transactions_unpartitioned;
        INSERT INTO transaction_keys
        SELECT transaction_id, transaction_date,
               transaction_fingerprint(investor_id, syndicate_id, transaction_amount,
                                       transaction_date, currency),
               source_partition, source_offset
        FROM transactions_unpartitioned;
        DROP TABLE transactions_unpartitioned;

        CREATE INDEX transactions_syndicate_time ON transactions (syndicate_id, transaction_date);
        CREATE INDEX transactions_source ON transactions (source_partition, source_offset);

        -- What the investor aggregates must say: the attached rows plus the detached months'
        -- sums (pulse verify and pulse rebuild read these; the sink keeps the aggregates itself).
        CREATE VIEW pair_history AS
        SELECT investor_id, syndicate_id, sum(total) AS total_invested, sum(n) AS transaction_count
        FROM (SELECT investor_id, syndicate_id, sum(transaction_amount) AS total, count(*) AS n
              FROM transactions GROUP BY investor_id, syndicate_id
              UNION ALL
              SELECT investor_id, syndicate_id, total_invested, transaction_count
              FROM transaction_archive_totals) AS parts
        GROUP BY investor_id, syndicate_id;
        CREATE VIEW investor_history AS
        SELECT investor_id, count(*)::integer AS syndicate_count,
               sum(total_invested) AS total_invested, sum(transaction_count) AS transaction_count
        FROM pair_history GROUP BY investor_id;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW investor_history, pair_history;
        CREATE TABLE transactions_unpartitioned (LIKE transactions INCLUDING DEFAULTS);
        INSERT INTO transactions_unpartitioned SELECT * FROM transactions;
        DROP TABLE transactions;
        ALTER TABLE transactions_unpartitioned RENAME TO transactions;
        ALTER TABLE transactions ADD PRIMARY KEY (transaction_id);
        CREATE INDEX transactions_syndicate_time ON transactions (syndicate_id, transaction_date);
        CREATE INDEX transactions_source ON transactions (source_partition, source_offset);
        DROP FUNCTION pulse_ensure_transaction_partitions(date, date);
        DROP TABLE transaction_archive_totals, transaction_archives, transaction_keys;
        DROP FUNCTION transaction_fingerprint(text, text, numeric, timestamptz, text);
        """
    )
