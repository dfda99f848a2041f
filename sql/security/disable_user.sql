UPDATE api_users SET disabled_at = now() WHERE username = %(username)s AND disabled_at IS NULL
