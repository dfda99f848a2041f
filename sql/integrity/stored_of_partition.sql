-- Every stored transaction of one source partition, in offset order: what its spike windows are
-- built from (a worker's catch-up reads the same, from a given offset).
SELECT transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date, currency,
       source_offset
FROM transactions
WHERE source_partition = %(partition)s AND source_offset <= %(upto)s
ORDER BY source_offset
