-- Staged rows whose transaction_id already stands with different content.
SELECT s.transaction_id, s.source_partition, s.source_offset
FROM staged_transactions s
JOIN transactions t USING (transaction_id)
WHERE (t.investor_id, t.syndicate_id, t.transaction_amount, t.transaction_date, t.currency)
      IS DISTINCT FROM
      (s.investor_id, s.syndicate_id, s.transaction_amount, s.transaction_date, s.currency)
