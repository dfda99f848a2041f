-- Top investors by number of distinct syndicates, then by total invested.
-- Reads the first rows of the investor_totals_rank index; cost does not grow with transactions.
SELECT investor_id, syndicate_count, total_invested
FROM investor_totals
ORDER BY syndicate_count DESC, total_invested DESC, investor_id ASC
LIMIT %(limit)s
