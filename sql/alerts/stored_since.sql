-- The rows stored from a partition's source offsets in (after, upto], in offset order: what the
-- spike windows' table missed of that partition (pipeline.alerts.detection).
SELECT transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date, currency,
       source_offset
FROM transactions
WHERE source_partition = %(partition)s AND source_offset > %(after)s AND source_offset <= %(upto)s
ORDER BY source_offset
