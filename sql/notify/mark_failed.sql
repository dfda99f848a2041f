UPDATE notifications
SET status = 'failed', last_error = %(error)s, storm_window = NULL,
    lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s AND status = 'sending'
