SELECT username, role, manager_id, investor_id, created_at, disabled_at
FROM api_users ORDER BY username
