SELECT 1 FROM api_users WHERE username = %(username)s AND disabled_at IS NULL
