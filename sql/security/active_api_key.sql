-- An active key's owner and secret hash; nothing is written before the secret is verified.
SELECT username, secret_hash FROM api_keys WHERE key_id = %(key)s AND revoked_at IS NULL
