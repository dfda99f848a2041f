-- Not sent: due again after the delay, and the storm slot is given back.
UPDATE notifications
SET status = 'pending', next_attempt_at = now() + make_interval(secs => %(delay)s),
    last_error = %(error)s, storm_window = NULL,
    lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s AND status = 'sending'
