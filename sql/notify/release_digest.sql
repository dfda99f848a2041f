-- Not sent (the provider failed): held again, for a later try.
UPDATE notifications
SET status = 'held', lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = ANY(%(ids)s) AND claim_token = %(claim)s AND status = 'digesting'
