-- Stored transactions in the order their partitions delivered them (a syndicate's lie on one
-- partition): the order live detection applied them in. NULL syndicate_ids: every syndicate.
SELECT transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date, currency
FROM transactions
WHERE %(syndicate_ids)s::text[] IS NULL OR syndicate_id = ANY(%(syndicate_ids)s::text[])
ORDER BY source_partition, source_offset
