INSERT INTO call_allocations (call_id, investor_id, amount)
VALUES (%(call_id)s, %(investor_id)s, %(amount)s)
