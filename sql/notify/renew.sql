-- A full lease from now, if the claim is still ours.
UPDATE notifications SET lease_until = now() + make_interval(secs => %(lease_seconds)s)
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s AND status = 'sending'
