UPDATE notifications
SET status = 'digested', provider_message_id = %(provider_id)s, sent_at = now(),
    lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = ANY(%(ids)s) AND claim_token = %(claim)s AND status = 'digesting'
