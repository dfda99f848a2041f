SELECT key_id, username, label, created_at, revoked_at, last_used_at
FROM api_keys ORDER BY created_at, key_id
