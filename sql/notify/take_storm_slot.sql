UPDATE notifications SET storm_window = %(window)s
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s
