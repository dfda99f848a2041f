SELECT username, role, manager_id, investor_id, password_hash FROM api_users
WHERE username = %(username)s AND disabled_at IS NULL
