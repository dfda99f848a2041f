-- Stored transactions in the order their partitions delivered them (a syndicate's lie on one
-- partition): the order live detection applied them in. NULL syndicate_ids: every syndicate.
-- With shares: only the syndicates of one share (a syndicate is always whole in one share).
SELECT transaction_id, investor_id, syndicate_id, transaction_amount, transaction_date, currency,
       (extract(epoch FROM transaction_date) * 1000000)::bigint AS micros
FROM transactions
WHERE (%(syndicate_ids)s::text[] IS NULL OR syndicate_id = ANY(%(syndicate_ids)s::text[]))
  AND (%(shares)s::integer IS NULL
       OR mod(hashtext(syndicate_id)::bigint + 2147483648, %(shares)s) = %(share)s)
ORDER BY source_partition, source_offset
