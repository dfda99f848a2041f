SELECT idempotency_key, request_hash, status_code
FROM pool_commands WHERE idempotency_key = ANY(%(keys)s)
