-- The aggregates the sink would have kept for the benchmark rows, computed from them in one pass.
WITH pairs AS (
    INSERT INTO investor_syndicate_totals (investor_id, syndicate_id, total_invested, transaction_count)
    SELECT investor_id, syndicate_id, sum(transaction_amount), count(*)
    FROM transactions
    GROUP BY investor_id, syndicate_id
    RETURNING investor_id, total_invested, transaction_count
)
INSERT INTO investor_totals (investor_id, syndicate_count, total_invested, transaction_count)
SELECT investor_id, count(*), sum(total_invested), sum(transaction_count)
FROM pairs
GROUP BY investor_id
