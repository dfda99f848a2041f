-- A call allocation as the pool's events say it is (the call's own row stands from the events too).
INSERT INTO call_allocations (call_id, investor_id, amount, paid)
VALUES (%(call_id)s, %(investor_id)s, %(amount)s, %(paid)s)
ON CONFLICT (call_id, investor_id) DO UPDATE SET amount = excluded.amount, paid = excluded.paid
