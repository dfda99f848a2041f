INSERT INTO capital_calls (call_id, pool_id, amount, due_date, seq)
VALUES (%(call_id)s, %(pool_id)s, %(amount)s, %(due_date)s, %(seq)s)
