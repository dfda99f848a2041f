INSERT INTO pool_events (pool_id, seq, event_id, idempotency_key, type, payload)
VALUES (%(pool_id)s, %(seq)s, %(event_id)s, %(idempotency_key)s, %(type)s, %(payload)s)
