CREATE TEMP TABLE IF NOT EXISTS staged_transactions (
    transaction_id      text NOT NULL,
    investor_id         text NOT NULL,
    syndicate_id        text NOT NULL,
    transaction_amount  numeric(20, 2) NOT NULL,
    transaction_date    timestamptz NOT NULL,
    currency            char(3) NOT NULL,
    source_partition    integer NOT NULL,
    source_offset       bigint NOT NULL
) ON COMMIT DELETE ROWS
