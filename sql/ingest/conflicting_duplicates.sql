-- Staged rows whose transaction_id already stands with different content, in whatever month (or
-- detached partition) the stored one lives.
SELECT s.transaction_id, s.source_partition, s.source_offset
FROM staged_transactions s
JOIN transaction_keys k USING (transaction_id)
WHERE k.fingerprint <> transaction_fingerprint(s.investor_id, s.syndicate_id, s.transaction_amount,
                                               s.transaction_date, s.currency)
