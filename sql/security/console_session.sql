-- A session signs its user in only while it is unexpired, unrevoked and the user still active.
SELECT u.username, u.role, u.manager_id, u.investor_id, s.csrf_token, s.expires_at
FROM console_sessions s JOIN api_users u USING (username)
WHERE s.session_hash = %(key)s AND s.revoked_at IS NULL AND s.expires_at > now()
  AND u.disabled_at IS NULL
