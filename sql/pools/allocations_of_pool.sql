SELECT a.call_id, a.investor_id, a.amount, a.paid
FROM call_allocations a JOIN capital_calls c USING (call_id)
WHERE c.pool_id = %(pool_id)s
