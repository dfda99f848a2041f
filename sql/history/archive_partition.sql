-- A detached month's per-pair sums join the archive's, and the month is recorded: the aggregates
-- (and pulse verify) keep counting rows that are no longer in transactions.
WITH sums AS (
    INSERT INTO transaction_archive_totals AS a
        (investor_id, syndicate_id, total_invested, transaction_count)
    SELECT investor_id, syndicate_id, sum(transaction_amount), count(*)
    FROM {partition}
    GROUP BY investor_id, syndicate_id
    ORDER BY investor_id, syndicate_id
    ON CONFLICT (investor_id, syndicate_id) DO UPDATE
        SET total_invested = a.total_invested + excluded.total_invested,
            transaction_count = a.transaction_count + excluded.transaction_count
)
INSERT INTO transaction_archives (partition_name, month, row_count)
VALUES (%(partition)s, %(month)s, (SELECT count(*) FROM {partition}))
RETURNING partition_name, month, row_count
