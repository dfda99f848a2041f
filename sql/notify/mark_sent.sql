UPDATE notifications
SET status = 'sent', provider_message_id = %(provider_id)s, sent_at = now(), last_error = NULL,
    lease_until = NULL, claim_token = NULL, updated_at = now()
WHERE notification_id = %(notification_id)s AND claim_token = %(claim)s AND status = 'sending'
