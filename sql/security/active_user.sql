SELECT username, role, manager_id, investor_id FROM api_users
WHERE username = %(key)s AND disabled_at IS NULL
