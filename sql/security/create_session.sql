INSERT INTO console_sessions (session_hash, username, csrf_token, expires_at)
VALUES (%(session_hash)s, %(username)s, %(csrf_token)s, now() + make_interval(secs => %(seconds)s))
RETURNING expires_at
