-- The API's idempotency record: the answer every retry with the same key gets.
INSERT INTO pool_commands (idempotency_key, request_hash, pool_id, status_code, response)
VALUES (%(idempotency_key)s, %(request_hash)s, %(pool_id)s, %(status_code)s, %(response)s)
ON CONFLICT (idempotency_key) DO NOTHING
