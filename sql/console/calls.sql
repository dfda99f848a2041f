SELECT c.call_id, c.amount, c.due_date, c.seq,
       coalesce(sum(a.paid), 0) AS paid
FROM capital_calls c LEFT JOIN call_allocations a USING (call_id)
WHERE c.pool_id = %(pool_id)s
GROUP BY c.call_id ORDER BY c.seq
