-- Insert the staged batch; only ids new to transaction_keys (unique across every month, which no
-- index on the partitioned table can be) are stored and move the aggregates, so a redelivered
-- batch changes nothing. Keys are upserted in sorted order so that concurrent workers lock rows in
-- the same order (no deadlock cycles).
WITH keys AS (
    INSERT INTO transaction_keys (transaction_id, transaction_date, fingerprint,
                                  source_partition, source_offset)
    SELECT transaction_id, transaction_date,
           transaction_fingerprint(investor_id, syndicate_id, transaction_amount,
                                   transaction_date, currency),
           source_partition, source_offset
    FROM staged_transactions
    ORDER BY transaction_id
    ON CONFLICT (transaction_id) DO NOTHING
    RETURNING transaction_id
), inserted AS (
    INSERT INTO transactions (transaction_id, investor_id, syndicate_id, transaction_amount,
                              transaction_date, currency, source_partition, source_offset)
    SELECT s.transaction_id, s.investor_id, s.syndicate_id, s.transaction_amount,
           s.transaction_date, s.currency, s.source_partition, s.source_offset
    -- Ids are unique within a batch (triage drops repeats): one staged row per new key. Joined on
    -- the id alone, the planner sizes the join right, and every join after it.
    FROM staged_transactions s JOIN keys USING (transaction_id)
    RETURNING transaction_id, investor_id, syndicate_id, transaction_amount
), pair_delta AS (
    SELECT investor_id, syndicate_id, sum(transaction_amount) AS amount, count(*) AS n
    FROM inserted
    GROUP BY investor_id, syndicate_id
), pairs AS (
    INSERT INTO investor_syndicate_totals AS t (investor_id, syndicate_id, total_invested, transaction_count)
    SELECT investor_id, syndicate_id, amount, n FROM pair_delta ORDER BY investor_id, syndicate_id
    ON CONFLICT (investor_id, syndicate_id) DO UPDATE
        SET total_invested = t.total_invested + excluded.total_invested,
            transaction_count = t.transaction_count + excluded.transaction_count
    RETURNING investor_id, syndicate_id, (xmax = 0) AS new_pair
), investor_delta AS (
    SELECT d.investor_id,
           count(*) FILTER (WHERE p.new_pair) AS new_syndicates,
           sum(d.amount) AS amount,
           sum(d.n) AS n
    FROM pair_delta d JOIN pairs p USING (investor_id, syndicate_id)
    GROUP BY d.investor_id
), investors AS (
    INSERT INTO investor_totals AS t (investor_id, syndicate_count, total_invested, transaction_count)
    SELECT investor_id, new_syndicates, amount, n FROM investor_delta ORDER BY investor_id
    ON CONFLICT (investor_id) DO UPDATE
        SET syndicate_count = t.syndicate_count + excluded.syndicate_count,
            total_invested = t.total_invested + excluded.total_invested,
            transaction_count = t.transaction_count + excluded.transaction_count,
            updated_at = now()
)
SELECT transaction_id FROM inserted
