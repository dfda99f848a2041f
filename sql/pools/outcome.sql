SELECT idempotency_key, request_hash, pool_id, status_code, response
FROM pool_commands WHERE idempotency_key = %(key)s
