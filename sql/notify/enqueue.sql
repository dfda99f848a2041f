INSERT INTO notifications (notification_id, alert_id, manager_id, channel, alert, level)
VALUES (%(notification_id)s, %(alert_id)s, %(manager_id)s, %(channel)s, %(alert)s, %(level)s)
ON CONFLICT (alert_id, manager_id, channel) DO NOTHING
