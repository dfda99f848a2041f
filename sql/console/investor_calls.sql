SELECT c.pool_id, p.name AS pool_name, c.call_id, c.due_date, a.amount, a.paid,
       a.amount - a.paid AS due
FROM call_allocations a JOIN capital_calls c USING (call_id) JOIN pools p USING (pool_id)
WHERE a.investor_id = %(investor_id)s
ORDER BY c.due_date, c.pool_id, c.call_id
