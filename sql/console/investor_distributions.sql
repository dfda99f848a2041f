SELECT l.pool_id, p.name AS pool_name, e.recorded_at, l.amount
FROM ledger_entries l JOIN pool_events e USING (pool_id, seq) JOIN pools p USING (pool_id)
WHERE l.account = 'partner_distributions:' || %(investor_id)s
ORDER BY e.recorded_at, l.pool_id
