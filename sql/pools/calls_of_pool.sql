SELECT c.call_id, c.amount, c.due_date, a.investor_id, a.amount AS allocated, a.paid
FROM capital_calls c JOIN call_allocations a USING (call_id)
WHERE c.pool_id = %(pool_id)s
