-- The seed's query, verbatim, with its missing SELECT added. It scans every transaction.
SELECT
investor_id,

COUNT(DISTINCT syndicate_id) AS unique_syndicates,

SUM(transaction_amount) AS total_investment

FROM transactions

GROUP BY investor_id

ORDER BY

unique_syndicates DESC,
total_investment DESC
LIMIT 5;
