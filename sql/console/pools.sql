-- Row-level security (set by the caller's scope) leaves a fund manager only their pools.
SELECT pool_id, name, currency, target_size, hard_cap, status, committed, called, contributed,
       distributed, updated_at
FROM pools ORDER BY updated_at DESC, pool_id LIMIT 500
