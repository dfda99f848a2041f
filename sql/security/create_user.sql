INSERT INTO api_users (username, role, manager_id, investor_id)
VALUES (%(username)s, %(role)s, %(manager_id)s, %(investor_id)s)
