-- The investor aggregates against the history they are kept from (views pair_history and
-- investor_history: the attached transactions plus the detached months' sums). One row per pair or
-- investor that disagrees, with both sides; USING columns (the ids) come first.
SELECT 'pair' AS scope, investor_id, syndicate_id,
       to_jsonb(s.*) - 'investor_id' - 'syndicate_id' AS stored,
       to_jsonb(h.*) - 'investor_id' - 'syndicate_id' AS expected
FROM investor_syndicate_totals s FULL JOIN pair_history h USING (investor_id, syndicate_id)
WHERE (s.total_invested, s.transaction_count) IS DISTINCT FROM (h.total_invested, h.transaction_count)
UNION ALL
SELECT 'investor', investor_id, NULL,
       to_jsonb(s.*) - 'investor_id' - 'updated_at',
       to_jsonb(h.*) - 'investor_id'
FROM investor_totals s FULL JOIN investor_history h USING (investor_id)
WHERE (s.syndicate_count, s.total_invested, s.transaction_count)
      IS DISTINCT FROM (h.syndicate_count, h.total_invested, h.transaction_count)
ORDER BY 1, 2, 3
