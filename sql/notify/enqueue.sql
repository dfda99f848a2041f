-- A notification row; an SMS to a number its manager paused (STOP) is stored as 'stopped', not sent.
INSERT INTO notifications (notification_id, alert_id, manager_id, channel, alert, level, status)
SELECT %(notification_id)s, %(alert_id)s, m.manager_id, %(channel)s, %(alert)s, %(level)s,
       CASE WHEN %(channel)s = 'sms' AND m.sms_paused_at IS NOT NULL THEN 'stopped' ELSE 'pending' END
FROM fund_managers m
WHERE m.manager_id = %(manager_id)s
ON CONFLICT (alert_id, manager_id, channel) DO NOTHING
