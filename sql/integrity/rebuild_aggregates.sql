-- Make the investor aggregates what the history says, touching only the rows that disagree.
WITH stale_pairs AS (
    DELETE FROM investor_syndicate_totals s
    WHERE NOT EXISTS (SELECT 1 FROM pair_history h
                      WHERE h.investor_id = s.investor_id AND h.syndicate_id = s.syndicate_id)
    RETURNING 1
), pairs AS (
    INSERT INTO investor_syndicate_totals AS s
        (investor_id, syndicate_id, total_invested, transaction_count)
    SELECT investor_id, syndicate_id, total_invested, transaction_count
    FROM pair_history ORDER BY investor_id, syndicate_id
    ON CONFLICT (investor_id, syndicate_id) DO UPDATE
        SET total_invested = excluded.total_invested, transaction_count = excluded.transaction_count
        WHERE (s.total_invested, s.transaction_count)
              IS DISTINCT FROM (excluded.total_invested, excluded.transaction_count)
    RETURNING 1
), stale_investors AS (
    DELETE FROM investor_totals s
    WHERE NOT EXISTS (SELECT 1 FROM investor_history h WHERE h.investor_id = s.investor_id)
    RETURNING 1
), investors AS (
    INSERT INTO investor_totals AS s (investor_id, syndicate_count, total_invested, transaction_count)
    SELECT investor_id, syndicate_count, total_invested, transaction_count
    FROM investor_history ORDER BY investor_id
    ON CONFLICT (investor_id) DO UPDATE
        SET syndicate_count = excluded.syndicate_count, total_invested = excluded.total_invested,
            transaction_count = excluded.transaction_count, updated_at = now()
        WHERE (s.syndicate_count, s.total_invested, s.transaction_count)
              IS DISTINCT FROM (excluded.syndicate_count, excluded.total_invested,
                                excluded.transaction_count)
    RETURNING 1
)
SELECT (SELECT count(*) FROM stale_pairs) + (SELECT count(*) FROM pairs) AS pairs,
       (SELECT count(*) FROM stale_investors) + (SELECT count(*) FROM investors) AS investors
