-- Over the storm limit: held for the window's digest; the attempt it was claimed for is given back.
UPDATE notifications
SET status = 'held', storm_window = %(window)s, attempts = attempts - 1,
    lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s
