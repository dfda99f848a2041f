INSERT INTO api_keys (key_id, username, secret_hash, label)
VALUES (%(key_id)s, %(username)s, %(secret_hash)s, %(label)s)
