-- For `pulse notifications list`: oldest first, optionally one status.
SELECT n.notification_id, n.alert_id, n.manager_id, n.channel, n.status, n.attempts,
       n.provider_message_id, n.last_error, n.created_at, n.sent_at, n.next_attempt_at,
       n.alert->>'kind' AS kind, n.alert->>'syndicate_id' AS syndicate_id
FROM notifications n
WHERE %(status)s::text IS NULL OR n.status = %(status)s
ORDER BY n.created_at, n.notification_id
LIMIT %(limit)s
