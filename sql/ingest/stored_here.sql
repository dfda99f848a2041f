-- Staged rows stored from this very source position: inserted now, or by an earlier attempt at
-- the same batch that crashed before its spike windows reached their table. A redelivered
-- duplicate from another position is not among them.
SELECT s.transaction_id
FROM staged_transactions s
JOIN transaction_keys k USING (transaction_id)
WHERE k.source_partition = s.source_partition AND k.source_offset = s.source_offset
