-- Every ledger line of a pool with each account's balance after it.
SELECT l.seq, e.type, e.recorded_at, l.line, l.account, l.amount,
       sum(l.amount) OVER (PARTITION BY l.account ORDER BY l.seq, l.line) AS balance
FROM ledger_entries l JOIN pool_events e USING (pool_id, seq)
WHERE l.pool_id = %(pool_id)s
ORDER BY l.seq, l.line
LIMIT 2000
