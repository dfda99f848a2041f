-- A capital call as the pool's events say it is; its sequence number is that of its event.
INSERT INTO capital_calls (call_id, pool_id, amount, due_date, seq)
SELECT %(call_id)s, %(pool_id)s, %(amount)s, %(due_date)s, e.seq
FROM pool_events e
WHERE e.pool_id = %(pool_id)s AND e.type = 'capital_called' AND e.payload ->> 'call_id' = %(call_id)s
ON CONFLICT (call_id) DO UPDATE SET amount = excluded.amount, due_date = excluded.due_date
