-- Due rows, and rows whose sender died (lease expired), for one sender under one new claim.
WITH due AS (
    SELECT notification_id FROM notifications
    WHERE (status = 'pending' AND next_attempt_at <= now())
       OR (status = 'sending' AND lease_until < now())
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), claim AS (
    SELECT gen_random_uuid() AS token
)
UPDATE notifications n
SET status = 'sending', attempts = n.attempts + 1, claim_token = claim.token, storm_window = NULL,
    lease_until = now() + make_interval(secs => %(lease_seconds)s), updated_at = now()
FROM due, claim, fund_managers m
WHERE n.notification_id = due.notification_id AND m.manager_id = n.manager_id
RETURNING n.notification_id, n.claim_token AS claim, n.alert, n.manager_id, n.channel,
          n.attempts, m.phone, m.email
