-- A new password ends every console session the user had: whoever knew the old one is signed out.
WITH changed AS (
    UPDATE api_users SET password_hash = %(password_hash)s, password_set_at = now()
    WHERE username = %(username)s AND disabled_at IS NULL
    RETURNING username
)
UPDATE console_sessions s SET revoked_at = now()
FROM changed WHERE s.username = changed.username AND s.revoked_at IS NULL
RETURNING 1
