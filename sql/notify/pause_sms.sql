-- STOP: no more SMS to these managers; what waits to be sent to them by SMS is stopped.
WITH paused AS (
    UPDATE fund_managers SET sms_paused_at = coalesce(sms_paused_at, clock_timestamp())
    WHERE manager_id = ANY(%(manager_ids)s::uuid[])
    RETURNING manager_id
)
UPDATE notifications n SET status = 'stopped', updated_at = now()
FROM paused
WHERE n.manager_id = paused.manager_id AND n.channel = 'sms' AND n.status IN ('pending', 'held')
